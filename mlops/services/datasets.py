"""Dataset use cases: ingest a source into a content-addressed version, split it, suggest a quality
suite from it, validate a version against the suite, and the gate ``require_valid`` that pipelines call
before anything downstream runs."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.core.clock import timestamp_slug, utcnow
from mlops.core.datasets import (
    DataFormat,
    DataQualityError,
    DatasetFile,
    DatasetSplit,
    DatasetVersion,
    DataValidationResult,
    FeatureEncoding,
    ProblemType,
    SplitMethod,
    SplitPart,
    SplitRatios,
)
from mlops.core.errors import ConflictError, ValidationError
from mlops.core.files import path_under, sha256_file, write_atomic
from mlops.core.ids import check_name
from mlops.data import formats, splits
from mlops.data.dataset_store import DatasetStore
from mlops.settings import Settings
from mlops.store.interface import open_store, relative_key


def dataset_store(settings: Settings) -> DatasetStore:
    return DatasetStore(settings.paths.datasets)


# -------------------------------------------------------------------------------------------------- ingest


@dataclass(frozen=True)
class IngestOptions:
    label: str | None = None  # default: a column named like the dataset, else label/target/y/class
    problem_type: ProblemType | None = None  # default: inferred from the label
    classes: tuple[str, ...] = ()  # declared classes; a label outside them is refused
    keep_columns: tuple[str, ...] = ()  # ids and dates to keep as features
    drop_columns: tuple[str, ...] = ()
    format: str | None = None  # csv | parquet; default from the file names
    encoding_from: str | None = None  # reuse this version's encoding (same features, classes and categories)


@dataclass(frozen=True)
class Ingested:
    version: DatasetVersion
    created: bool  # False: identical bytes were ingested before, this is that version


def _fetch(source: str, fmt: str | None, workdir: Path, s3_endpoint_url: str | None) -> formats.SourceTable:
    """Read a local file or folder, file:// URI, or s3:// object or prefix (through the ArtifactStore)."""
    if source.startswith("s3://"):
        store = open_store(source, s3_endpoint_url)
        uris = store.list(source)
        if source not in uris:
            prefix = source.rstrip("/") + "/"
            uris = [u for u in store.list(prefix) if not u.rsplit("/", 1)[-1].startswith(".")]
            base = prefix
        else:
            uris, base = [source], source.rsplit("/", 1)[0] + "/"
        if not uris:
            raise ValidationError("--source", f"{source}: no such S3 object or prefix")
        names = [u for u in uris if fmt or u.lower().endswith(formats.CSV_SUFFIXES + formats.PARQUET_SUFFIXES)]
        if not names:
            raise ValidationError("--source", f"{source}: no CSV or Parquet objects under this prefix")
        # every key is checked before anything is fetched: none may lead outside the working folder
        targets = [workdir.joinpath(*relative_key(u, base).parts) for u in names]
        files = [store.get_file(u, target) for u, target in zip(names, targets, strict=True)]
        return formats.read_files(files, names, _one_format(names, fmt))
    path = Path(source.removeprefix("file://")).expanduser()
    if not path.exists():
        raise ValidationError("--source", f"{source} does not exist")
    if path.is_file():
        return formats.read_files([path], [str(path)], formats.format_of(path.name, fmt))
    if not path.is_dir():
        raise ValidationError("--source", f"{source} is neither a file nor a folder")
    found = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and (fmt or p.name.lower().endswith(formats.CSV_SUFFIXES + formats.PARQUET_SUFFIXES))
    )
    if not found:
        raise ValidationError("--source", f"{source}: the folder holds no CSV or Parquet files")
    names = [str(p) for p in found]
    return formats.read_files(found, names, _one_format(names, fmt))


def _reused_encoding(store: DatasetStore, name: str, options: IngestOptions) -> FeatureEncoding:
    """A reference version's encoding, so a new version lands in the same feature space (unknown
    categories encode as all zeros; labels outside its classes are refused)."""
    given = [flag for flag, value in (("--label", options.label), ("--problem-type", options.problem_type),
             ("--classes", options.classes), ("--keep-columns", options.keep_columns),
             ("--drop-columns", options.drop_columns)) if value]  # fmt: skip
    if given:
        raise ValidationError(
            "--encoding-from", f"the encoding comes from the reference version; drop {', '.join(given)}"
        )
    return store.resolve(name, options.encoding_from).Encoding


def _one_format(names: list[str], claimed: str | None) -> DataFormat:
    kinds = {formats.format_of(n, claimed) for n in names}
    if len(kinds) > 1:
        raise ValidationError("--source", "mixes CSV and Parquet files; ingest one format at a time")
    return kinds.pop()


def _file(fmt: DataFormat, final: Path, data: bytes, rows: int) -> DatasetFile:
    return DatasetFile(
        Format=fmt, ContentType=fmt.content_type, Uri=str(final), Sha256=hashlib.sha256(data).hexdigest(), Rows=rows
    )


def _write_channels(tmp: Path, final: Path, stem: str, labels: np.ndarray, X: np.ndarray) -> tuple[DatasetFile, ...]:
    out = []
    for fmt, suffix, data in (
        (DataFormat.csv, ".csv", formats.csv_bytes(labels, X)),
        (DataFormat.recordio, ".recordio", formats.recordio_bytes(labels, X)),
    ):
        target = tmp / f"{stem}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        out.append(_file(fmt, final / f"{stem}{suffix}", data, len(labels)))
    return tuple(out)


def ingest(
    store: DatasetStore,
    name: str,
    source: str,
    options: IngestOptions = IngestOptions(),
    s3_endpoint_url: str | None = None,
) -> Ingested:
    """Read, type, encode and store ``source`` as a version of ``name``. Identical bytes give the same
    version (nothing is written again); bad data is refused with the file, column and line."""
    check_name("dataset name", name)
    store.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.root, prefix=".fetch-") as workdir:
        table = _fetch(source, options.format, Path(workdir), s3_endpoint_url)
        typed = formats.type_columns(table.frame)
        if options.encoding_from:
            encoding = _reused_encoding(store, name, options)
        else:
            label = options.label or formats.default_label(typed, name)
            encoding = formats.build_encoding(
                typed, label, options.problem_type, options.classes or None, options.keep_columns, options.drop_columns
            )
        existing = store.get(name, table.sha256)
        if existing is not None:
            if existing.Encoding != encoding:
                raise ConflictError(
                    f"{name} version {existing.VersionNumber} ({existing.short_version}) holds these same bytes "
                    f"encoded differently (label {existing.Encoding.LabelColumn}, "
                    f"{len(existing.Encoding.Features)} features); a version is immutable: ingest under another "
                    "dataset name to encode the data another way"
                )
            return Ingested(existing, False)
        labels = formats.encode_labels(table, typed, encoding)
        X = formats.encode_features(typed, encoding, where=table.names[0])
        schema = formats.schema_of(typed)

        def build(tmp: Path, final: Path, number: int) -> DatasetVersion:
            (tmp / "source").mkdir()
            kept = []
            for path, relative in zip(table.files, formats.relative_names(table.names), strict=True):
                target = path_under(tmp / "source", relative, field=f"source file {relative!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                kept.append(relative)
            typed.to_parquet(tmp / "table.parquet", index=False)
            return DatasetVersion(
                DatasetName=name,
                Version=table.sha256,
                VersionNumber=number,
                Source=source,
                SourceFormat=table.format,
                SourceFiles=tuple(kept),
                RowCount=len(typed),
                Schema=schema,
                Encoding=encoding,
                TableUri=str(final / "table.parquet"),
                Files=_write_channels(tmp, final, "data", labels, X),
                CreationTime=utcnow(),
            )

        version, created = store.add_version(name, table.sha256, build)
        return Ingested(version, created)


# --------------------------------------------------------------------------------------------------- split


@dataclass(frozen=True)
class SplitRequest:
    train: float | None = None
    validation: float | None = None
    test: float | None = None
    seed: int = 7
    folds: int | None = None
    time_column: str | None = None
    stratify: bool = True


def _ratios(req: SplitRequest) -> SplitRatios:
    if req.folds:
        if req.validation:
            raise ValidationError(
                "--validation", "with --folds each fold's held-out block is its validation set; give --test only"
            )
        test = req.test or 0.0
        train = 1 - test if req.train is None else req.train
        return SplitRatios(Train=train, Test=test).check()
    if req.train is None and req.validation is None and req.test is None:
        return SplitRatios(Train=0.8, Validation=0.1, Test=0.1)
    given = [r for r in (req.train, req.validation, req.test) if r is not None]
    missing = 1 - sum(given)
    parts = [req.train, req.validation, req.test]
    if parts.count(None) == 1:  # the one left out takes the rest
        parts[parts.index(None)] = round(missing, 12)
    train, validation, test = (p or 0.0 for p in parts)
    return SplitRatios(Train=train, Validation=validation, Test=test).check()


def split(store: DatasetStore, name: str, version_ref: str | None, req: SplitRequest) -> tuple[DatasetSplit, bool]:
    """Split a version's rows and write each part in CSV (label-first) and recordio-protobuf. The split
    id is a hash of the version and the parameters, so asking again returns the same split."""
    version = store.resolve(name, version_ref)
    ratios = _ratios(req)
    encoding = version.Encoding
    table = store.table(version)
    stratified = bool(req.stratify and encoding.ProblemType.classification and not req.time_column)
    method = splits.method_of(req.folds, req.time_column, stratified)
    if req.time_column:
        column = version.column(req.time_column)
        if column is None:
            raise ValidationError("--time-column", f"no column {req.time_column!r} in {version.ref}")
        if not (column.Type.numeric or column.Type.value == "datetime"):
            raise ValidationError("--time-column", f"column {req.time_column!r} is {column.Type.value}, not a time")
    parameters = {
        "version": version.Version,
        "method": method.value,
        "seed": req.seed,
        "ratios": ratios.model_dump(),
        "folds": req.folds,
        "time_column": req.time_column,
    }
    split_id = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:12]
    labels = formats.encode_labels(None, table, encoding)
    X = formats.encode_features(table, encoding, where=version.TableUri)
    parts = _split_rows(method, table, labels if stratified else None, ratios, req)
    whole = splits.split_sha256(parts)

    def build(tmp: Path, final: Path) -> DatasetSplit:
        arrays: dict[str, Any] = {p.name.replace("/", "__"): p.rows for p in parts}
        save: Any = np.savez_compressed
        save(tmp / "indices.npz", **arrays)
        records = [
            SplitPart(
                Name=p.name,
                Channel=p.channel,
                Fold=p.fold,
                Rows=int(p.rows.size),
                IndicesSha256=splits.indices_sha256(p.rows),
                Files=_write_channels(tmp, final, p.name, labels[p.rows], X[p.rows]),
            )
            for p in parts
        ]
        return DatasetSplit(
            SplitId=split_id,
            DatasetName=name,
            DatasetVersion=version.Version,
            Method=method,
            Seed=req.seed,
            Ratios=ratios,
            Folds=req.folds,
            TimeColumn=req.time_column,
            StratifyColumn=encoding.LabelColumn if stratified else None,
            IndicesSha256=whole,
            IndicesUri=str(final / "indices.npz"),
            Parts=tuple(records),
            CreationTime=utcnow(),
            FeatureEncodingSha256=encoding.sha256,
        )

    record, created = store.add_split(version, split_id, build)
    if record.IndicesSha256 != whole:
        raise ConflictError(f"split {split_id} on disk does not match a rebuild (indices hash differs)")
    return record, created


def _split_rows(
    method: SplitMethod, table: pd.DataFrame, strata: np.ndarray | None, ratios: SplitRatios, req: SplitRequest
) -> list[splits.PartIndices]:
    if req.time_column:
        series = table[req.time_column]
        times = series.to_numpy(dtype="datetime64[ns]") if series.dtype.kind == "M" else series.to_numpy(dtype=float)
        if req.folds:
            return splits.forward_chaining(times, req.folds, req.time_column, ratios.Test)
        return splits.time_holdout(times, ratios, req.time_column)
    if req.folds:
        return splits.kfold(len(table), req.folds, req.seed, strata, ratios.Test)
    return splits.holdout(len(table), ratios, req.seed, strata)


def rebuild_indices(store: DatasetStore, record: DatasetSplit) -> str:
    """Recompute a split from its record (method, seed, ratios) and return the indices' hash: equal to
    ``record.IndicesSha256`` when the split is reproducible."""
    version = store.resolve(record.DatasetName, record.DatasetVersion)
    table = store.table(version)
    strata = formats.encode_labels(None, table, version.Encoding) if record.StratifyColumn else None
    req = SplitRequest(
        train=record.Ratios.Train,
        validation=record.Ratios.Validation,
        test=record.Ratios.Test,
        seed=record.Seed,
        folds=record.Folds,
        time_column=record.TimeColumn,
        stratify=record.StratifyColumn is not None,
    )
    return splits.split_sha256(_split_rows(record.Method, table, strata, record.Ratios, req))


# ------------------------------------------------------------------------------------------------- quality


def baseline(
    store: DatasetStore,
    name: str,
    version_ref: str | None = None,
    tolerance: float = 0.1,
    row_tolerance: float = 0.5,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Suggest a great-expectations suite from a reference version and store it beside the dataset."""
    from mlops.quality.suite import suggest_suite

    version = store.resolve(name, version_ref)
    path = store.suite_path(name)
    if path.exists() and not force:
        raise ConflictError(f"{path} exists (edit it by hand, or pass --force to suggest it again)")
    suite = suggest_suite(store.table(version), version, tolerance, row_tolerance)
    write_atomic(path, json.dumps(suite, indent=2, default=str) + "\n")
    return path, suite


def validate(
    store: DatasetStore, name: str, version_ref: str | None = None, suite_path: Path | None = None
) -> DataValidationResult:
    """Run the suite on a version; store the typed result and its HTML report (self-contained) beside it."""
    from mlops.quality.gate import run_suite
    from mlops.quality.report import validation_page
    from mlops.quality.suite import read_suite, schema_changes, suite_sha256

    version = store.resolve(name, version_ref)
    path = suite_path or store.suite_path(name)
    suite = read_suite(path)
    digest = suite_sha256(suite)
    validation_id = f"{timestamp_slug()}-{digest[:8]}"
    run = run_suite(store.table(version), suite)
    changes = schema_changes(suite, version.Schema)

    def build(tmp: Path, final: Path) -> DataValidationResult:
        evaluated = len(run.outcomes)
        result = DataValidationResult(
            ValidationId=validation_id,
            DatasetName=name,
            DatasetVersion=version.Version,
            VersionNumber=version.VersionNumber,
            SuiteName=str(suite.get("name", path.stem)),
            SuiteSha256=digest,
            Success=run.success and not changes,
            EvaluatedExpectations=evaluated,
            SuccessfulExpectations=sum(1 for o in run.outcomes if o.Success),
            SchemaChanges=changes,
            Results=run.outcomes,
            ReportUri=str(final / "report.html"),
            ResultUri=str(final / "result.json"),
            CreationTime=utcnow(),
        )
        (tmp / "report.html").write_text(validation_page(result))
        return result

    return store.add_validation(version, validation_id, build)


def require_valid(store: DatasetStore, name: str, version_ref: str | None = None) -> DataValidationResult:
    """The gate: the version's latest validation against the current suite (run now if there is none);
    raises DataQualityError naming the failed expectations unless it passed."""
    from mlops.quality.suite import read_suite, suite_sha256

    version = store.resolve(name, version_ref)
    digest = suite_sha256(read_suite(store.suite_path(name)))
    earlier = [r for r in store.validations(version) if r.SuiteSha256 == digest]
    result = earlier[-1] if earlier else validate(store, name, version.Version)
    if not result.Success:
        raise DataQualityError(result)
    return result


def verify_files(version: DatasetVersion) -> list[str]:
    """Files of a version whose bytes no longer match their recorded sha256 (empty when intact)."""
    return [f.Uri for f in version.Files if not Path(f.Uri).exists() or sha256_file(Path(f.Uri)) != f.Sha256]
