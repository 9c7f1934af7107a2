"""Reading sources (CSV and Parquet files or folders of them), typing their columns, and encoding a
table into what training channels read: CSV label-first without header, and recordio-protobuf.

``encode_features`` is the one encoder: ingest, splits and (later) inference payloads all go through it
with the ``FeatureEncoding`` recorded with the version, so a model sees the same columns in serving as
in training.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.contract.csv_format import number, pandas_can_parse
from mlops.contract.recordio import write_dense
from mlops.core.datasets import (
    ColumnSchema,
    ColumnType,
    DataFormat,
    DroppedColumn,
    EncodedFeature,
    FeatureEncoding,
    FeatureKind,
    ProblemType,
)
from mlops.core.errors import ValidationError
from mlops.core.files import sha256_file

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
MAX_CATEGORIES = 50  # a string column with more distinct values is not one-hot encoded
LABEL_NAMES = ("label", "target", "y", "class")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")


@dataclass(frozen=True)
class SourceTable:
    """A source read into one frame. ``file_of_row[i]`` names the file row ``i`` came from."""

    frame: pd.DataFrame
    format: DataFormat
    files: tuple[Path, ...]
    names: tuple[str, ...]  # the files as the user knows them (a path or an s3:// URI)
    sha256: str
    file_of_row: np.ndarray  # index into ``names``

    def where(self, row: int) -> str:
        """The file and 1-based line (CSV: line 1 is the header) or row of a table row."""
        index = int(self.file_of_row[row])
        first = int(np.flatnonzero(self.file_of_row == index)[0])
        offset = row - first
        if self.format is DataFormat.csv:
            return f"{self.names[index]}, line {offset + 2}"
        return f"{self.names[index]}, row {offset + 1}"


def format_of(name: str, claimed: str | None = None) -> DataFormat:
    if claimed:
        try:
            fmt = DataFormat(claimed.lower())
        except ValueError:
            raise ValidationError("--format", f"{claimed!r} is not csv or parquet") from None
        if fmt is DataFormat.recordio:
            raise ValidationError("--format", "sources are read as csv or parquet")
        return fmt
    lower = name.lower()
    if lower.endswith(CSV_SUFFIXES):
        return DataFormat.csv
    if lower.endswith(PARQUET_SUFFIXES):
        return DataFormat.parquet
    raise ValidationError("--source", f"{name}: cannot tell the format from the name; pass --format csv|parquet")


def common_prefix(names: Sequence[str]) -> str:
    """The longest common folder of the names, ending in "/" (empty when there is none)."""
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n].rsplit("/", 1)[0] + "/" if "/" in first[:n] else ""


def relative_names(names: Sequence[str]) -> list[str]:
    """Each file's name inside the source: a single file's base name, else its path below the common folder."""
    if len(names) == 1:
        return [names[0].rsplit("/", 1)[-1]]
    prefix = common_prefix(names)
    return [n[len(prefix) :] for n in names]


def sha256_of_files(files: Sequence[Path], names: Sequence[str]) -> str:
    """One file: the sha256 of its bytes. Several: the sha256 of their names below the source's folder and
    their bytes' hashes, in name order, so the same parts give the same version wherever they live."""
    digests = [sha256_file(path) for path in files]
    if len(files) == 1:
        return digests[0]
    outer = hashlib.sha256()
    for name, digest in zip(relative_names(names), digests, strict=True):
        outer.update(f"{name}\t{digest}\n".encode())
    return outer.hexdigest()


def _read_one(path: Path, name: str, fmt: DataFormat) -> pd.DataFrame:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            if fmt is DataFormat.parquet:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(size - 4, 0))
                tail = f.read(4)
    except PermissionError:
        raise ValidationError("--source", f"{name}: permission denied; the file is not readable") from None
    except IsADirectoryError:
        raise ValidationError("--source", f"{name}: is a folder, expected a file") from None
    except OSError as e:
        raise ValidationError("--source", f"{name}: cannot be read: {e.strerror or e}") from None
    if fmt is DataFormat.parquet:
        if head != b"PAR1" or tail != b"PAR1":
            raise ValidationError("--source", f"{name}: not a Parquet file (no PAR1 magic bytes); is it CSV?")
        try:
            return pd.read_parquet(path)
        except Exception as e:  # pyarrow raises many kinds
            raise ValidationError("--source", f"{name}: not a readable Parquet file: {e}") from None
    if head == b"PAR1":
        raise ValidationError("--source", f"{name}: is a Parquet file, not CSV; pass --format parquet")
    try:
        raw = path.read_bytes()
        if name.lower().endswith(".gz"):
            import gzip

            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except (UnicodeDecodeError, OSError) as e:
        raise ValidationError("--source", f"{name}: not a UTF-8 text CSV file ({e})") from None
    if "\x00" in text[:65536]:
        raise ValidationError("--source", f"{name}: not a CSV file (binary content)")
    if not text.strip():
        raise ValidationError("--source", f"{name}: is empty")
    try:
        frame = _read_csv_text(text)
    except (pd.errors.ParserError, ValueError) as e:
        raise ValidationError("--source", f"{name}: not a well-formed CSV file: {e}") from None
    if frame.shape[1] < 2:
        raise ValidationError(
            "--source", f"{name}: found {frame.shape[1]} column; a CSV source needs a header row and several columns"
        )
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed: ")]
    if unnamed:
        raise ValidationError("--source", f"{name}: header has an empty column name (column {unnamed[0]})")
    return frame


def _read_csv_text(text: str) -> pd.DataFrame:
    """pandas' reading of a CSV source, unless the text could crash its number parser (the contract's
    ``pandas_can_parse``: a NUL byte, an exponent like 1e2147483648). Then every cell is read as text
    (which converts nothing) and a column whose cells all are numbers to ``float`` becomes float (int when
    each is whole), as pandas would have typed it; 1e2147483648 is inf, as float() reads it."""
    if pandas_can_parse(text):
        return pd.read_csv(io.StringIO(text), low_memory=False)
    frame = pd.read_csv(io.StringIO(text), dtype=str, low_memory=False)
    for column in frame.columns:
        cells = frame[column]
        try:
            values = np.array([np.nan if c is None or c != c else number(c) for c in cells], dtype=np.float64)
        except ValueError:
            continue  # text: left as read
        finite = bool(np.isfinite(values).all())
        whole = finite and bool((values == np.round(values)).all()) and np.abs(values).max(initial=0) < 2**53
        frame[column] = values.astype(np.int64) if whole else values
    return frame


def read_files(files: Sequence[Path], names: Sequence[str], fmt: DataFormat) -> SourceTable:
    if not files:
        raise ValidationError("--source", "no CSV or Parquet files found")
    frames: list[pd.DataFrame] = []
    for path, name in zip(files, names, strict=True):
        frame = _read_one(path, name, fmt)
        if frame.empty:
            raise ValidationError("--source", f"{name}: has a header but no rows")
        if frames and list(frame.columns) != list(frames[0].columns):
            missing = [c for c in frames[0].columns if c not in frame.columns]
            extra = [c for c in frame.columns if c not in frames[0].columns]
            raise ValidationError(
                "--source",
                f"{name}: columns differ from {names[0]} (missing {missing or 'none'}, extra {extra or 'none'})",
            )
        frames.append(frame)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    file_of_row = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
    return SourceTable(frame, fmt, tuple(files), tuple(names), sha256_of_files(files, names), file_of_row)


# ------------------------------------------------------------------------------------------------ typing


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.dropna()
    if sample.empty:
        return False
    sample = sample.astype(str)
    head = sample.iloc[:200]
    return bool(head.map(lambda v: bool(_ISO_DATE.match(v))).all()) and bool(sample.str.match(_ISO_DATE).all())


def type_columns(frame: pd.DataFrame, source: SourceTable | None = None) -> pd.DataFrame:
    """The frame with settled dtypes: ISO-date strings become datetimes, object columns strings."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series):
            continue
        if _looks_like_dates(series):
            parsed = pd.to_datetime(series, errors="coerce", utc=False, format="mixed")
            if parsed.notna().sum() == series.notna().sum():
                out[column] = parsed
                continue
        out[column] = series.astype(object).where(series.notna(), None)
        out[column] = out[column].map(lambda v: v if v is None else str(v))
    return out


def column_type(series: pd.Series) -> ColumnType:
    if pd.api.types.is_bool_dtype(series):
        return ColumnType.boolean
    if pd.api.types.is_integer_dtype(series):
        return ColumnType.integer
    if pd.api.types.is_float_dtype(series):
        return ColumnType.float
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnType.datetime
    return ColumnType.string


def schema_of(frame: pd.DataFrame) -> tuple[ColumnSchema, ...]:
    return tuple(
        ColumnSchema(
            Name=str(c),
            Type=column_type(frame[c]),
            NullCount=int(frame[c].isna().sum()),
            DistinctCount=int(frame[c].nunique(dropna=True)),
        )
        for c in frame.columns
    )


# ---------------------------------------------------------------------------------------------- encoding


def default_label(frame: pd.DataFrame, dataset: str) -> str:
    """A column named like the dataset (``churn``), else one of label/target/y/class."""
    lowered = {str(c).lower(): str(c) for c in frame.columns}
    for candidate in (dataset.lower(), dataset.lower().replace("-", "_"), *LABEL_NAMES):
        if candidate in lowered:
            return lowered[candidate]
    raise ValidationError(
        "--label", f"no column named {dataset!r} or {'/'.join(LABEL_NAMES)}; name the label column with --label"
    )


def _class_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def infer_problem(series: pd.Series) -> ProblemType:
    distinct = series.dropna().unique()
    if len(distinct) == 2:
        return ProblemType.BinaryClassification
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric:
        values = series.dropna().astype(float)
        whole = bool(np.all(np.mod(values, 1) == 0))
        if whole and len(distinct) <= 20:
            return ProblemType.MulticlassClassification
        return ProblemType.Regression
    if len(distinct) <= MAX_CATEGORIES:
        return ProblemType.MulticlassClassification
    raise ValidationError("--label", f"column {series.name!r} has {len(distinct)} text values; too many classes")


def _sorted_classes(values: Sequence[object]) -> tuple[str, ...]:
    texts = sorted({_class_text(v) for v in values})
    try:
        return tuple(sorted(texts, key=float))
    except ValueError:
        return tuple(texts)


def build_encoding(
    frame: pd.DataFrame,
    label: str,
    problem: ProblemType | None = None,
    classes: Sequence[str] | None = None,
    keep: Sequence[str] = (),
    drop: Sequence[str] = (),
    max_categories: int = MAX_CATEGORIES,
) -> FeatureEncoding:
    """Numeric columns as they are, booleans as 0/1, strings one-hot (categories sorted), ids (a column of
    unique strings, or named id / *_id) and dates dropped unless named in ``keep``."""
    columns = [str(c) for c in frame.columns]
    for name in (*keep, *drop):
        if name not in columns:
            raise ValidationError("--keep-columns/--drop-columns", f"no column {name!r}; columns: {', '.join(columns)}")
    if label not in columns:
        raise ValidationError("--label", f"no column {label!r}; columns: {', '.join(columns)}")
    labels = frame[label]
    problem = problem or infer_problem(labels)
    declared: tuple[str, ...] = ()
    if problem.classification:
        declared = tuple(classes) if classes else _sorted_classes(labels.dropna().unique().tolist())
        if problem is ProblemType.BinaryClassification and len(declared) != 2:
            raise ValidationError("--classes", f"binary classification needs 2 classes, got {len(declared)}")
    elif classes:
        raise ValidationError("--classes", "classes are declared for classification only")
    features: list[EncodedFeature] = []
    dropped: list[DroppedColumn] = []
    rows = len(frame)
    for name in columns:
        if name == label:
            continue
        if name in drop:
            dropped.append(DroppedColumn(Name=name, Reason="asked"))
            continue
        series = frame[name]
        kind = column_type(series)
        looks_like_id = name.lower() == "id" or name.lower().endswith(("_id", "-id"))
        if name not in keep:
            if kind is ColumnType.datetime:
                dropped.append(DroppedColumn(Name=name, Reason="date"))
                continue
            if looks_like_id or (kind is ColumnType.string and rows > 1 and series.nunique() == rows):
                dropped.append(DroppedColumn(Name=name, Reason="identifier"))
                continue
        if kind is ColumnType.datetime:
            features.append(EncodedFeature(Name=name, Column=name, Kind=FeatureKind.Date))
        elif kind is ColumnType.boolean:
            features.append(EncodedFeature(Name=name, Column=name, Kind=FeatureKind.Boolean))
        elif kind.numeric:
            features.append(EncodedFeature(Name=name, Column=name, Kind=FeatureKind.Numeric))
        else:
            categories = sorted(str(v) for v in series.dropna().unique())
            if len(categories) > max_categories and name not in keep:
                dropped.append(
                    DroppedColumn(Name=name, Reason=f"{len(categories)} distinct values (> {max_categories})")
                )
                continue
            features.extend(
                EncodedFeature(Name=f"{name}={c}", Column=name, Kind=FeatureKind.OneHot, Category=c) for c in categories
            )
    if not features:
        raise ValidationError("--source", "no feature columns left after dropping ids, dates and the label")
    return FeatureEncoding(
        LabelColumn=label, ProblemType=problem, Classes=declared, Features=tuple(features), Dropped=tuple(dropped)
    )


def encode_features(frame: pd.DataFrame, encoding: FeatureEncoding, where: str = "payload") -> np.ndarray:
    """The float32 feature matrix, columns in ``encoding.Features`` order."""
    missing = [c for c in encoding.input_columns if c not in frame.columns]
    if missing:
        raise ValidationError(where, f"missing column(s) {', '.join(missing)}")
    out = np.empty((len(frame), len(encoding.Features)), dtype=np.float32)
    texts: dict[str, np.ndarray] = {}
    for j, feature in enumerate(encoding.Features):
        series = frame[feature.Column]
        if feature.Kind is FeatureKind.OneHot:
            if feature.Column not in texts:
                texts[feature.Column] = series.astype(object).map(_class_text).to_numpy()
            out[:, j] = texts[feature.Column] == feature.Category
        elif feature.Kind is FeatureKind.Date:
            moments = pd.to_datetime(series, errors="coerce").to_numpy(dtype="datetime64[ns]")
            days = (moments - _EPOCH) / np.timedelta64(1, "D")
            out[:, j] = days.astype(np.float32)
        else:
            try:
                out[:, j] = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float32, na_value=np.nan)
            except (ValueError, TypeError):
                bad = pd.to_numeric(series, errors="coerce").isna() & series.notna()
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise ValidationError(
                    f"{where}: column {feature.Column}", f"row {row + 1}: {series.iloc[row]!r} is not a number"
                ) from None
    return out


def encode_labels(source: SourceTable | None, frame: pd.DataFrame, encoding: FeatureEncoding) -> np.ndarray:
    """Labels as float32: the class index for classification, the value for regression. Refuses missing
    labels and labels outside the declared classes, naming the file, the column and the line."""
    column = encoding.LabelColumn
    series = frame[column]

    def where(row: int) -> str:
        return source.where(row) if source is not None else f"row {row + 1}"

    missing = np.flatnonzero(series.isna().to_numpy())
    if missing.size:
        raise ValidationError(f"column {column}", f"{where(int(missing[0]))}: the label is missing")
    if not encoding.ProblemType.classification:
        numbers = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy())
        if bad.size:
            row = int(bad[0])
            raise ValidationError(
                f"column {column}", f"{where(row)}: {series.iloc[row]!r} is not a number (regression label)"
            )
        return np.asarray(numbers.to_numpy(dtype=np.float32))
    index = {c: i for i, c in enumerate(encoding.Classes)}
    texts = series.astype(object).map(_class_text)
    codes = texts.map(index)
    bad = np.flatnonzero(codes.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        outside = sorted(set(texts.iloc[bad].tolist()))
        raise ValidationError(
            f"column {column}",
            f"{where(row)}: label {texts.iloc[row]!r} is not one of the declared classes "
            f"{', '.join(encoding.Classes)} ({bad.size} such rows; values {', '.join(outside[:10])})",
        )
    return np.asarray(codes.to_numpy(dtype=np.float32))


# ----------------------------------------------------------------------------------------------- writing


def csv_bytes(labels: np.ndarray, features: np.ndarray) -> bytes:
    """Label-first CSV without header; a missing value is an empty field."""
    matrix = np.column_stack([labels.astype(np.float64), features.astype(np.float64)])
    buffer = io.StringIO()
    pd.DataFrame(matrix).to_csv(buffer, header=False, index=False, float_format="%.9g", lineterminator="\n")
    return buffer.getvalue().encode()


def recordio_bytes(labels: np.ndarray, features: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    write_dense(buffer, features.astype(np.float32), labels.astype(np.float32))
    return buffer.getvalue()
