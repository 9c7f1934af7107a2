"""`mlops data …`: ingest, version, split, baseline and validate datasets."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import TYPE_CHECKING, Any

from mlops.cli.arguments import add_command
from mlops.cli.table import Column, print_table
from mlops.core.datasets import DataFormat, DatasetSplit, DatasetVersion, DataValidationResult, ProblemType

if TYPE_CHECKING:
    from mlops.settings import Settings

VERSION_HELP = (
    "which version: an ordinal (3 or v3 = the third distinct version ingested), a sha256 prefix "
    "(at least 6 hex digits), or latest (the default)"
)

EPILOG = """examples:
  mlops data ingest churn --source data/churn.csv        # also s3://bucket/key or a folder of CSV/Parquet files
  mlops data versions churn
  mlops data split churn --train 0.8 --validation 0.1 --test 0.1 --seed 7
  mlops data split churn --time-column signup_date --folds 3
  mlops data baseline churn
  mlops data validate churn --version 3                  # exit 0 only when the suite passes
"""


def _csv_list(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else ()


def add_data_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "data",
        help="ingest, version, split and quality-check datasets",
        description="Datasets as immutable, content-addressed versions, with splits and great-expectations "
        "quality gates.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    actions = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    p = add_command(
        actions,
        "ingest",
        help="store a CSV/Parquet file, folder or s3:// prefix as a version",
        description="Store a table (CSV with a header row, or Parquet) as an immutable, content-addressed version: "
        "its schema, label and feature encoding are recorded, and the same bytes ingested again are the same "
        "version. `mlops data split` then writes the headerless, label-first files `mlops train` reads.",
        examples="examples:\n  mlops data ingest churn --source data/churn.csv\n"
        "  mlops data ingest churn --source s3://bucket/churn/ --label churn --keep-columns signup_date",
    )
    p.add_argument("name", help="dataset name")
    p.add_argument("--source", required=True, help="a file, a folder, file:// or s3:// URI (object or prefix)")
    p.add_argument("--format", choices=["csv", "parquet"], help="default: from the file names")
    p.add_argument("--label", help="the label column (default: a column named like the dataset, or label/target)")
    p.add_argument("--problem-type", choices=[t.value for t in ProblemType], help="default: inferred from the label")
    p.add_argument("--classes", help="declared classes, comma-separated (labels outside them are refused)")
    p.add_argument("--keep-columns", help="ids or dates to keep as features, comma-separated")
    p.add_argument("--drop-columns", help="columns not to use as features, comma-separated")
    p.add_argument(
        "--encoding-from",
        metavar="VERSION",
        help="encode like this earlier version (same features and classes: models trained on it can score this)",
    )
    p.set_defaults(func=cmd_ingest)

    p = add_command(
        actions,
        "list",
        help="list datasets",
        description="List the datasets with their number of versions and their latest version.",
        examples="example:\n  mlops data list",
    )
    p.set_defaults(func=cmd_list)

    p = add_command(
        actions,
        "versions",
        help="list a dataset's versions",
        description="List a dataset's versions: ordinal, sha256 prefix, when ingested, rows and source. Either of "
        "the first two names a version in the other commands (--version).",
        examples="example:\n  mlops data versions churn",
    )
    p.add_argument("name")
    p.set_defaults(func=cmd_versions)

    p = add_command(
        actions,
        "describe",
        help="print a version's record (schema, encoding, files) as JSON",
        description="Print a version's record as JSON: schema, label, feature encoding, files and where it came from.",
        examples="examples:\n  mlops data describe churn\n  mlops data describe churn --version 2",
    )
    p.add_argument("name")
    p.add_argument("--version", help=VERSION_HELP)
    p.set_defaults(func=cmd_describe)

    p = add_command(
        actions,
        "split",
        help="split a version into train/validation/test (or folds) files for `mlops train`",
        description="Hold-out (stratified on the label for classification), K-fold (--folds) or time-ordered "
        "(--time-column; with --folds: forward chaining). Seeded and recorded: the same arguments rebuild "
        "the same split. Each part is written as headerless, label-first CSV (and recordio-protobuf).",
        examples="examples:\n  mlops data split churn --train 0.8 --validation 0.1 --test 0.1 --seed 7\n"
        "  mlops data split churn --time-column signup_date --folds 3",
    )
    p.add_argument("name")
    p.add_argument("--version", help=VERSION_HELP)
    p.add_argument("--train", type=float, help="fraction of rows (default 0.8, or what --test leaves with --folds)")
    p.add_argument("--validation", type=float, help="fraction of rows (default 0.1)")
    p.add_argument("--test", type=float, help="fraction of rows (default 0.1; 0 with --folds)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--folds", type=int, help="K-fold (or forward-chaining with --time-column) with K folds")
    p.add_argument("--time-column", help="order rows by this column: train on the past, test on the future")
    p.add_argument("--no-stratify", action="store_true", help="plain shuffling even for classification")
    p.set_defaults(func=cmd_split)

    p = add_command(
        actions,
        "splits",
        help="list a version's splits",
        description="List the splits made of a version: method, seed, ratios and each part's file.",
        examples="example:\n  mlops data splits churn --version 3",
    )
    p.add_argument("name")
    p.add_argument("--version", help=VERSION_HELP)
    p.set_defaults(func=cmd_splits)

    p = add_command(
        actions,
        "baseline",
        help="suggest a great-expectations suite from a reference version",
        description="Suggest a great-expectations suite (columns, types, ranges, null rates, row count) from a "
        "reference version; it is plain JSON, to edit by hand. `mlops data validate` runs it.",
        examples="example:\n  mlops data baseline churn --version 1 --tolerance 0.2",
    )
    p.add_argument("name")
    p.add_argument("--version", help=VERSION_HELP)
    p.add_argument("--tolerance", type=float, default=0.1, help="widen numeric ranges and null rates (default 0.1)")
    p.add_argument("--row-tolerance", type=float, default=0.5, help="row-count bounds, ± fraction (default 0.5)")
    p.add_argument("--force", action="store_true", help="replace an existing suite")
    p.set_defaults(func=cmd_baseline)

    p = add_command(
        actions,
        "validate",
        help="run the suite on a version; exit 0 only when it passes",
        description="Run the dataset's suite (or --suite FILE) on a version and print each failed expectation; "
        "exit 0 when it passes, 1 when it does not.",
        examples="examples:\n  mlops data validate churn\n  mlops data validate churn --version 3 --suite suite.json",
    )
    p.add_argument("name")
    p.add_argument("--version", help=VERSION_HELP)
    p.add_argument("--suite", help="a suite JSON file (default: the dataset's suite.json)")
    p.set_defaults(func=cmd_validate)


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from mlops.services.datasets import dataset_store

    return dataset_store(settings)


def _print_version(version: DatasetVersion) -> None:
    enc = version.Encoding
    classes = f", classes {', '.join(enc.Classes)}" if enc.Classes else ""
    print(
        f"  rows {version.RowCount}, columns {len(version.Schema)}; label {enc.LabelColumn} "
        f"({enc.ProblemType.value}{classes}); {len(enc.Features)} features"
    )
    if enc.Dropped:
        dropped = ", ".join(f"{d.Name} ({d.Reason})" for d in enc.Dropped)
        print(f"  not used as features: {dropped}; keep ids and dates with --keep-columns")
    for f in version.Files:
        print(f"  {f.Format.value + ':':<19} {f.Uri}")


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.datasets import IngestOptions, ingest

    options = IngestOptions(
        label=args.label,
        problem_type=ProblemType(args.problem_type) if args.problem_type else None,
        classes=_csv_list(args.classes),
        keep_columns=_csv_list(args.keep_columns),
        drop_columns=_csv_list(args.drop_columns),
        format=args.format,
        encoding_from=args.encoding_from,
    )
    result = ingest(_store(settings), args.name, args.source, options, settings.s3_endpoint_url)
    v = result.version
    if result.created:
        print(f"ingested {v.DatasetName} version {v.VersionNumber} (sha256 {v.short_version}) from {args.source}")
    else:
        print(
            f"unchanged: these bytes are {v.DatasetName} version {v.VersionNumber} (sha256 {v.short_version}), "
            f"ingested {v.CreationTime:%Y-%m-%d %H:%M:%S} UTC"
        )
    _print_version(v)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    names = store.names()
    if not names:
        print("no datasets yet; ingest one with `mlops data ingest NAME --source FILE`")
        return 0
    rows = []
    for name in names:
        versions = store.versions(name)
        latest = versions[-1]
        rows.append(
            [name, str(len(versions)), f"{latest.VersionNumber} ({latest.short_version}, {latest.RowCount} rows)"]
        )
    print_table((Column("DATASET", elide="never"), Column("VERSIONS", align=">"), Column("LATEST")), rows)
    return 0


def cmd_versions(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    store.resolve(args.name)  # a clear error for an unknown dataset
    print_table(
        (
            Column("VERSION", align=">"),
            Column("SHA256", elide="never"),
            Column("INGESTED (UTC)"),
            Column("ROWS", align=">"),
            Column("SOURCE", elide="start"),
        ),
        [
            [str(v.VersionNumber), v.short_version, f"{v.CreationTime:%Y-%m-%d %H:%M:%S}", str(v.RowCount), v.Source]
            for v in store.versions(args.name)
        ],
    )
    return 0


def cmd_describe(args: argparse.Namespace, settings: Settings) -> int:
    version = _store(settings).resolve(args.name, args.version)
    print(json.dumps(version.model_dump(mode="json"), indent=2))
    return 0


def _print_split(record: DatasetSplit) -> None:
    ratios = record.Ratios
    detail = f"folds {record.Folds}, " if record.Folds else ""
    print(
        f"  method {record.Method.value}, {detail}seed {record.Seed}, ratios train {ratios.Train:g} / "
        f"validation {ratios.Validation:g} / test {ratios.Test:g}; row indices sha256 {record.IndicesSha256[:12]}"
    )
    for part in record.Parts:
        print(f"  {part.Name + ':':<21} {part.Rows:>7} rows  {part.file(DataFormat.csv).Uri}")
    print("  (each part also as recordio-protobuf: the same path ending in .recordio)")


def cmd_split(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.datasets import SplitRequest, split

    request = SplitRequest(
        train=args.train,
        validation=args.validation,
        test=args.test,
        seed=args.seed,
        folds=args.folds,
        time_column=args.time_column,
        stratify=not args.no_stratify,
    )
    store = _store(settings)
    record, created = split(store, args.name, args.version, request)
    version = store.resolve(args.name, record.DatasetVersion)
    verb = "split" if created else "unchanged: already split"
    print(f"{verb} {args.name} version {version.VersionNumber} ({version.short_version}) as {record.SplitId}")
    _print_split(record)
    names = {p.Name for p in record.Parts}
    if "train" in names:
        print(f"train with:\n  {train_command(record, version)}")
    return 0


DEFAULT_NUM_ROUND = 100  # xgboost requires num_round; a sensible start for the tables a split holds


def train_command(record: DatasetSplit, version: DatasetVersion) -> str:
    """A complete `mlops train` command line for a split's parts, quoted for a POSIX shell: it runs as printed."""
    names = {p.Name for p in record.Parts}
    words = ["mlops", "train", "--algorithm", "xgboost", "--train", record.part("train").file(DataFormat.csv).Uri]
    if "validation" in names:
        words += ["--validation", record.part("validation").file(DataFormat.csv).Uri]
    words += [*_objective(version), "--hp", f"num_round={DEFAULT_NUM_ROUND}"]
    return " ".join(shlex.quote(w) for w in words)


def _objective(version: DatasetVersion) -> list[str]:
    problem = version.Encoding.ProblemType
    if problem is ProblemType.BinaryClassification:
        return ["--hp", "objective=binary:logistic"]
    if problem is ProblemType.MulticlassClassification:
        return ["--hp", "objective=multi:softprob", "--hp", f"num_class={len(version.Encoding.Classes)}"]
    return ["--hp", "objective=reg:squarederror"]


def cmd_splits(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    version = store.resolve(args.name, args.version)
    records = store.splits(version)
    if not records:
        print(f"no splits of {args.name} version {version.VersionNumber} yet; see `mlops data split --help`")
    for record in records:
        print(f"{record.SplitId}  ({record.CreationTime:%Y-%m-%d %H:%M:%S} UTC)")
        _print_split(record)
    return 0


def cmd_baseline(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.datasets import baseline

    store = _store(settings)
    version = store.resolve(args.name, args.version)
    path, suite = baseline(store, args.name, version.Version, args.tolerance, args.row_tolerance, args.force)
    kinds: dict[str, int] = {}
    for e in suite["expectations"]:
        kinds[e["type"]] = kinds.get(e["type"], 0) + 1
    print(
        f"suggested suite {suite['name']} from {args.name} version {version.VersionNumber} "
        f"({version.short_version}): {len(suite['expectations'])} expectations"
    )
    for kind, count in sorted(kinds.items()):
        print(f"  {count:>3} {kind}")
    print(f"suite: {path}  (plain great-expectations JSON: edit it by hand)")
    print(f"validate with: mlops data validate {args.name} --version N")
    return 0


def print_validation(result: DataValidationResult) -> None:
    verdict = "PASSED" if result.Success else "FAILED"
    print(
        f"{verdict} {result.DatasetName} version {result.VersionNumber} ({result.DatasetVersion[:12]}) against "
        f"suite {result.SuiteName}: {result.SuccessfulExpectations}/{result.EvaluatedExpectations} expectations met"
    )
    for change in result.SchemaChanges:
        print(f"  schema changed since the baseline: {change}")
    for outcome in result.failed:
        line = f"  FAILED {outcome.Description}"
        if outcome.UnexpectedCount:
            rows = "row" if outcome.UnexpectedCount == 1 else "rows"
            line += f": {outcome.UnexpectedCount} {rows} ({outcome.UnexpectedPercent or 0:.2g}%)"
        if outcome.UnexpectedValues:
            line += f", e.g. {', '.join(outcome.UnexpectedValues[:5])}"
        if outcome.UnexpectedRows:
            line += f" at rows {', '.join(str(r) for r in outcome.UnexpectedRows[:5])}"
        if outcome.ObservedValue is not None and not outcome.UnexpectedValues:
            line += f" (observed {outcome.ObservedValue[:200]})"
        if outcome.Error:
            line += f" (error: {outcome.Error[:200]})"
        print(line)
    print(f"report: {result.ReportUri}")
    print(f"result: {result.ResultUri}")


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from mlops.services.datasets import validate

    result = validate(_store(settings), args.name, args.version, Path(args.suite) if args.suite else None)
    print_validation(result)
    return 0 if result.Success else 1
