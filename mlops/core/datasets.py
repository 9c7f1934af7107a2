"""Dataset records: content-addressed versions, their schema and feature encoding, splits, and the
results of data-quality validation.

SageMaker has no dataset API, so the names follow its style (PascalCase fields, ``CreationTime``,
``…Uri``) and its problem types (Autopilot's ``BinaryClassification`` …). No I/O here: reading,
encoding and storing live in ``mlops.data``; great-expectations lives in ``mlops.quality``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from mlops.core.errors import MlopsError, ValidationError
from mlops.core.ids import NameStr, RecordIdStr
from mlops.core.records import Record as _Record

SHORT_VERSION_LENGTH = 12
MIN_PREFIX_LENGTH = 6
_ORDINAL = re.compile(r"^[vV]?(\d{1,7})$")
_HEX = re.compile(r"^[0-9a-f]+$")


class ColumnType(StrEnum):
    integer = "integer"
    float = "float"
    boolean = "boolean"
    string = "string"
    datetime = "datetime"

    @property
    def numeric(self) -> bool:
        return self in (ColumnType.integer, ColumnType.float)


class ProblemType(StrEnum):
    """Autopilot's names."""

    BinaryClassification = "BinaryClassification"
    MulticlassClassification = "MulticlassClassification"
    Regression = "Regression"

    @property
    def classification(self) -> bool:
        return self is not ProblemType.Regression


ProblemTypeT = ProblemType


class ColumnSchema(_Record):
    Name: str
    Type: ColumnType
    NullCount: int = 0
    DistinctCount: int | None = None


class FeatureKind(StrEnum):
    Numeric = "Numeric"  # the value as a float; missing stays missing (NaN, an empty CSV field)
    Boolean = "Boolean"  # 1.0 / 0.0
    OneHot = "OneHot"  # 1.0 when the column equals Category, else 0.0 (unknown values: all zero)
    Date = "Date"  # days since 1970-01-01


class EncodedFeature(_Record):
    """One column of the encoded feature matrix, in order."""

    Name: str
    Column: str
    Kind: FeatureKind
    Category: str | None = None


class DroppedColumn(_Record):
    Name: str
    Reason: str


class FeatureEncoding(_Record):
    """How a raw table becomes the label-first numeric matrix the algorithms read. Recorded with the
    version so an inference payload can be encoded exactly the same way later."""

    LabelColumn: str
    ProblemType: ProblemTypeT
    # Classification: the declared classes in label-index order (label value i means Classes[i]).
    Classes: tuple[str, ...] = ()
    Features: tuple[EncodedFeature, ...]
    Dropped: tuple[DroppedColumn, ...] = ()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.Name for f in self.Features)

    @property
    def input_columns(self) -> tuple[str, ...]:
        """The raw columns an inference payload must carry, in first-use order."""
        return tuple(dict.fromkeys(f.Column for f in self.Features))

    @property
    def sha256(self) -> str:
        """A digest of what the matrix means: the label, its classes and every feature in order (what was
        dropped does not change the matrix, so it is left out)."""
        meaning = {
            "LabelColumn": self.LabelColumn,
            "ProblemType": self.ProblemType.value,
            "Classes": list(self.Classes),
            "Features": [f.model_dump(mode="json") for f in self.Features],
        }
        return hashlib.sha256(json.dumps(meaning, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


FeatureEncodingT = FeatureEncoding


class DataFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    recordio = "recordio-protobuf"

    @property
    def content_type(self) -> str:
        return {
            DataFormat.csv: "text/csv",
            DataFormat.parquet: "application/x-parquet",
            DataFormat.recordio: "application/x-recordio-protobuf",
        }[self]


class DatasetFile(_Record):
    """A file of a version or split in a format a training channel accepts."""

    Format: DataFormat
    ContentType: str
    Uri: str
    Sha256: str
    Rows: int


class DatasetVersion(_Record):
    """One immutable, content-addressed version. ``Version`` is the sha256 of the source's bytes."""

    DatasetName: NameStr
    Version: str
    VersionNumber: int = Field(ge=1)
    Source: str
    SourceFormat: DataFormat
    SourceFiles: tuple[str, ...]
    RowCount: int
    Schema: tuple[ColumnSchema, ...]
    Encoding: FeatureEncodingT
    TableUri: str  # the typed table (Parquet) that splits and quality checks read
    Files: tuple[DatasetFile, ...]  # the whole version, encoded: CSV label-first and recordio-protobuf
    CreationTime: datetime

    @property
    def short_version(self) -> str:
        return self.Version[:SHORT_VERSION_LENGTH]

    @property
    def ref(self) -> str:
        return f"{self.DatasetName}@{self.short_version} (version {self.VersionNumber})"

    def column(self, name: str) -> ColumnSchema | None:
        return next((c for c in self.Schema if c.Name == name), None)

    def file(self, fmt: DataFormat) -> DatasetFile:
        for f in self.Files:
            if f.Format is fmt:
                return f
        raise ValidationError("format", f"version {self.short_version} has no {fmt.value} file")


class SplitMethod(StrEnum):
    Holdout = "Holdout"
    StratifiedHoldout = "StratifiedHoldout"
    KFold = "KFold"
    StratifiedKFold = "StratifiedKFold"
    TimeHoldout = "TimeHoldout"  # ordered by time: train before validation before test
    ForwardChaining = "ForwardChaining"  # time folds: fold k trains on blocks 1..k, validates on k+1


class SplitRatios(_Record):
    Train: float = Field(ge=0, le=1)
    Validation: float = Field(default=0.0, ge=0, le=1)
    Test: float = Field(default=0.0, ge=0, le=1)

    def check(self) -> SplitRatios:
        total = self.Train + self.Validation + self.Test
        if abs(total - 1.0) > 1e-6:
            raise ValidationError("ratios", f"train + validation + test must add up to 1, got {total:g}")
        if self.Train <= 0:
            raise ValidationError("ratios", "the train ratio must be above 0")
        return self


class SplitPart(_Record):
    """One channel's rows: ``train``, ``validation``, ``test`` or, for folds, ``fold-2/train`` …"""

    Name: str
    Channel: str
    Fold: int | None = None
    Rows: int
    IndicesSha256: str
    Files: tuple[DatasetFile, ...]

    def file(self, fmt: DataFormat) -> DatasetFile:
        for f in self.Files:
            if f.Format is fmt:
                return f
        raise ValidationError("format", f"split part {self.Name} has no {fmt.value} file")


class DatasetSplit(_Record):
    """Everything needed to rebuild a split exactly: method, seed, ratios and the hash of the row indices."""

    SplitId: RecordIdStr
    DatasetName: NameStr
    DatasetVersion: str
    Method: SplitMethod
    Seed: int
    Ratios: SplitRatios
    Folds: int | None = None
    TimeColumn: str | None = None
    StratifyColumn: str | None = None
    IndicesSha256: str
    IndicesUri: str
    Parts: tuple[SplitPart, ...]
    CreationTime: datetime
    # Ours: the digest of the version's FeatureEncoding the parts were written with (older splits: None).
    FeatureEncodingSha256: str | None = None

    def part(self, name: str) -> SplitPart:
        for p in self.Parts:
            if p.Name == name:
                return p
        known = ", ".join(p.Name for p in self.Parts)
        raise ValidationError("split part", f"{name!r} is not part of split {self.SplitId}; parts: {known}")


class ExpectationOutcome(_Record):
    """One expectation's verdict, with samples of what broke it."""

    ExpectationType: str
    Column: str | None = None
    Success: bool
    Description: str
    UnexpectedCount: int | None = None
    UnexpectedPercent: float | None = None
    UnexpectedValues: tuple[str, ...] = ()  # a sample, as text
    UnexpectedRows: tuple[int, ...] = ()  # a sample of 0-based row indices
    ObservedValue: str | None = None
    Error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.ExpectationType}({self.Column})" if self.Column else self.ExpectationType


class DataValidationResult(_Record):
    """The machine-readable result of running a suite on a version (the HTML report is its twin)."""

    ValidationId: RecordIdStr
    DatasetName: NameStr
    DatasetVersion: str
    VersionNumber: int
    SuiteName: str
    SuiteSha256: str
    Success: bool
    EvaluatedExpectations: int
    SuccessfulExpectations: int
    SchemaChanges: tuple[str, ...] = ()
    Results: tuple[ExpectationOutcome, ...]
    ReportUri: str | None = None
    ResultUri: str | None = None
    CreationTime: datetime

    @property
    def failed(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(r for r in self.Results if not r.Success)

    def summary(self) -> str:
        failed = self.failed
        head = (
            f"{self.DatasetName} version {self.VersionNumber} ({self.DatasetVersion[:SHORT_VERSION_LENGTH]}) "
            f"against suite {self.SuiteName}: {self.SuccessfulExpectations}/{self.EvaluatedExpectations} passed"
        )
        if self.SchemaChanges:
            head += "; schema changed since the baseline: " + "; ".join(self.SchemaChanges)
        if failed:
            head += "; failed: " + ", ".join(r.label for r in failed)
        return head


class DataQualityError(MlopsError):
    """A dataset version failed its quality gate; nothing downstream may use it."""

    def __init__(self, result: DataValidationResult) -> None:
        text = f"data quality gate failed: {result.summary()}"
        if result.ReportUri:
            text += f". Report: {result.ReportUri}"
        super().__init__(text)
        self.result = result


class VersionRef(_Record):
    """How a user names a version: an ordinal (``3``, ``v3``), a sha256 prefix, or ``latest``."""

    Ordinal: int | None = None
    Prefix: str | None = None

    @property
    def latest(self) -> bool:
        return self.Ordinal is None and self.Prefix is None


def parse_version_ref(text: str | None) -> VersionRef:
    """``None``/``latest`` → the newest; digits (at most 7, optionally after ``v``) → the ordinal;
    otherwise a hex prefix of the sha256 of at least 6 characters."""
    if text is None or text.strip().lower() in ("", "latest"):
        return VersionRef()
    value = text.strip().lower()
    ordinal = _ORDINAL.match(value)
    if ordinal:
        number = int(ordinal.group(1))
        if number < 1:
            raise ValidationError("--version", "ordinals start at 1")
        return VersionRef(Ordinal=number)
    if value.startswith("sha256:"):
        value = value[len("sha256:") :]
    if not _HEX.match(value):
        raise ValidationError("--version", f"{text!r} is neither an ordinal (3, v3), a hash prefix (hex) nor 'latest'")
    if len(value) < MIN_PREFIX_LENGTH:
        raise ValidationError("--version", f"hash prefix {text!r} is too short; give at least {MIN_PREFIX_LENGTH}")
    return VersionRef(Prefix=value)
