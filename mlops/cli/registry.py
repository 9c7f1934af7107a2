"""`mlops registry …`: model package groups and versions with approval status, lineage and aliases
(on MLflow: `Settings.mlflow_uri`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.cli.arguments import add_command, add_runtime_argument
from mlops.cli.table import Column, print_table
from mlops.core.registry import ModelApprovalStatus, ModelPackage

if TYPE_CHECKING:
    from mlops.settings import Settings

EPILOG = """examples:
  mlops registry register churn --job JOB                 # a new version, PendingManualApproval
  mlops registry evaluate churn --version 4               # metrics + ROC curve on the split's test part
  mlops registry approve churn --version 4 --comment "AUC above the bar"
  mlops registry reject churn --version 3 --comment "trained on a bad split"
  mlops registry alias churn --version 4 prod             # Approved versions only
  mlops registry list churn
  mlops registry describe churn --version 4
"""


def add_registry_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "registry",
        help="model package groups: register, approve, reject, alias and list model versions",
        description="The model registry (MLflow): model package groups whose versions carry SageMaker's "
        "ModelApprovalStatus, lineage and metrics. Only Approved versions are deployable.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    actions = parser.add_subparsers(dest="registry_command", required=True, metavar="ACTION")

    p = add_command(
        actions,
        "register",
        help="register a Completed training job as a new version",
        description="Register a Completed training job's model as a new version of a model package group, "
        "PendingManualApproval, with its lineage (dataset version, split, job, tracking run) and metrics.",
        examples="examples:\n  mlops registry register churn --job JOB\n"
        "  mlops registry register churn --job JOB --evaluate",
    )
    p.add_argument("group", help="model package group name")
    p.add_argument("--job", required=True, help="training job name")
    p.add_argument("--description", default="")
    p.add_argument("--dataset", help="dataset name (default: found from the job's train channel)")
    p.add_argument("--dataset-version", help="with --dataset: an ordinal, a sha256 prefix or latest")
    p.add_argument("--split", help="with --dataset: the split id")
    p.add_argument("--tuning-job", help="the tuning job that chose this model")
    p.add_argument("--image-digest", help="the algorithm image's digest (sha256:…), if it ran in a container")
    p.add_argument("--evaluate", action="store_true", help="also evaluate on the split's test part (see evaluate)")
    add_runtime_argument(p, "where the model server for --evaluate runs", servers=True)
    p.set_defaults(func=cmd_register)

    for action, verb in (("approve", "Approved"), ("reject", "Rejected")):
        p = add_command(
            actions,
            action,
            help=f"mark a version {verb} (with who, when and a comment)",
            description=f"Set a version's ModelApprovalStatus to {verb}, recording who, when and why. "
            + ("Only Approved versions can be deployed or aliased." if verb == "Approved" else ""),
            examples=f'example:\n  mlops registry {action} churn --version 4 --comment "…"',
        )
        p.add_argument("group")
        p.add_argument("--version", type=int, required=True, help="the ModelPackageVersion")
        p.add_argument("--comment", default="", help="ApprovalDescription")
        p.add_argument("--approver", help="who (default: MLOPS_USER or the login name)")
        p.set_defaults(func=cmd_approve if action == "approve" else cmd_reject)

    p = add_command(
        actions,
        "alias",
        help="point an alias (staging, prod …) at an Approved version",
        description="Point an alias (staging, prod …) at an Approved version, or remove it with --delete.",
        examples="examples:\n  mlops registry alias churn prod --version 4\n  mlops registry alias churn prod --delete",
    )
    p.add_argument("group")
    p.add_argument("alias")
    p.add_argument("--version", type=int, help="the version (omit with --delete)")
    p.add_argument("--delete", action="store_true", help="remove the alias")
    p.set_defaults(func=cmd_alias)

    p = add_command(
        actions,
        "list",
        help="list groups, or a group's versions",
        description="List the model package groups, or one group's versions with status, aliases, job and metrics.",
        examples="examples:\n  mlops registry list\n  mlops registry list churn --status Approved",
    )
    p.add_argument("group", nargs="?")
    p.add_argument("--status", choices=[s.value for s in ModelApprovalStatus], help="only versions with this status")
    p.set_defaults(func=cmd_list)

    p = add_command(
        actions,
        "describe",
        help="print a version (DescribeModelPackage) as JSON",
        description="Print a version as DescribeModelPackage JSON: approval, lineage, metrics, containers.",
        examples="examples:\n  mlops registry describe churn --version 4\n  mlops registry describe churn --alias prod",
    )
    p.add_argument("group")
    p.add_argument("--version", type=int, help="the version (default: the one --alias names, else the latest)")
    p.add_argument("--alias", help="the version an alias points at")
    p.set_defaults(func=cmd_describe)

    p = add_command(
        actions,
        "evaluate",
        help="score a version on its test split; store ModelMetrics and a plot",
        description="Serve a version's model, score it on the test part of the split it was trained on (or a "
        "headerless, label-first --test CSV) and store the metrics, confusion matrix and ROC plot with it.",
        examples="examples:\n  mlops registry evaluate churn --version 4\n"
        "  mlops registry evaluate churn --version 4 --test data/test.csv",
    )
    p.add_argument("group")
    p.add_argument("--version", type=int, required=True)
    p.add_argument("--test", help="label-first CSV (default: the test part of the split it was trained on)")
    add_runtime_argument(p, "where the model server runs", servers=True)
    p.set_defaults(func=cmd_evaluate)


def _open(settings: Settings):  # type: ignore[no-untyped-def]
    from mlops.services.registry import open_registry
    from mlops.services.tracking import open_tracker

    return open_registry(settings), open_tracker(settings)


def _print_package(p: ModelPackage) -> None:
    aliases = f"  aliases: {', '.join(p.Aliases)}" if p.Aliases else ""
    print(f"{p.ModelPackageGroupName} version {p.ModelPackageVersion}: {p.ModelApprovalStatus.value}{aliases}")
    print(f"  arn:        {p.ModelPackageArn}")
    container = p.InferenceSpecification.Containers[0]
    print(f"  model:      {container.ModelDataUrl} ({container.AlgorithmName or container.Image})")
    lineage = p.Lineage
    if lineage.DatasetName:
        print(
            f"  data:       {lineage.DatasetName}@{(lineage.DatasetVersion or '')[:12]} split {lineage.SplitId or '-'}"
        )
    sha = (lineage.ModelDataSha256 or "")[:12]
    print(f"  job:        {lineage.TrainingJobName}  run {lineage.TrackingRunId}  sha256 {sha}")
    if p.ApprovedBy:
        print(
            f"  {p.ModelApprovalStatus.value.lower()} by {p.ApprovedBy} at {p.ApprovalTime:%Y-%m-%d %H:%M:%S} UTC: "
            f"{p.ApprovalDescription or '(no comment)'}"
        )
    if p.ModelMetrics and p.ModelMetrics.Metrics:
        values = " ".join(f"{k}={v:.4f}" for k, v in p.ModelMetrics.Metrics.items())
        print(f"  metrics:    {values} ({p.ModelMetrics.EvaluatedRows} test rows)")


def _job(settings: Settings, name: str, runtime: str = "local"):  # type: ignore[no-untyped-def]
    from mlops.services.runtimes import training_runtime

    return training_runtime(settings, runtime).describe_training_job(name)


def cmd_register(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.datasets import dataset_store
    from mlops.services.registry import register_job
    from mlops.services.runtimes import training_runtime

    registry, tracker = _open(settings)
    runtime = training_runtime(settings)
    job = runtime.describe_training_job(args.job)
    store = dataset_store(settings)
    version = split = None
    if args.dataset:
        version = store.resolve(args.dataset, args.dataset_version)
        split = store.get_split(args.dataset, args.split) if args.split else None
    package = register_job(
        registry,
        tracker,
        job,
        args.group,
        datasets=store,
        dataset_version=version,
        split=split,
        tuning_job=args.tuning_job,
        image_digest=args.image_digest,
        description=args.description,
        history=runtime.metric_history(job.TrainingJobName),
    )
    print(
        f"registered {job.TrainingJobName} as {package.ModelPackageGroupName} version "
        f"{package.ModelPackageVersion} ({package.ModelApprovalStatus.value})"
    )
    if args.evaluate:
        package = _evaluate(settings, registry, tracker, package, None, args.runtime)
    _print_package(package)
    print(
        f"approve with: mlops registry approve {package.ModelPackageGroupName} "
        f'--version {package.ModelPackageVersion} --comment "…"'
    )
    return 0


def cmd_approve(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.registry import approve

    registry, _ = _open(settings)
    _print_package(approve(registry, args.group, args.version, args.approver, args.comment))
    return 0


def cmd_reject(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.registry import reject

    registry, _ = _open(settings)
    _print_package(reject(registry, args.group, args.version, args.approver, args.comment))
    return 0


def cmd_alias(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.core.errors import ValidationError

    registry, _ = _open(settings)
    if args.delete:
        registry.delete_alias(args.group, args.alias)
        print(f"deleted alias {args.group}@{args.alias}")
        return 0
    if args.version is None:
        raise ValidationError("--version", "name the version the alias points at (or pass --delete)")
    package = registry.set_alias(args.group, args.alias, args.version)
    print(f"{args.group}@{args.alias} -> version {package.ModelPackageVersion}")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    registry, _ = _open(settings)
    if not args.group:
        groups = registry.list_model_package_groups()
        if not groups:
            print("no model package groups yet; register a job with `mlops registry register NAME --job JOB`")
            return 0
        print_table(
            (Column("GROUP", elide="never"), Column("CREATED (UTC)"), Column("ALIASES")),
            [
                [
                    g.ModelPackageGroupName,
                    f"{g.CreationTime:%Y-%m-%d %H:%M}",
                    ", ".join(f"{a}={v}" for a, v in sorted(g.Aliases.items())) or "-",
                ]
                for g in groups
            ],
        )
        return 0
    status = ModelApprovalStatus(args.status) if args.status else None
    packages = registry.list_model_packages(args.group, status)
    if not packages:
        which = f" {status.value}" if status else ""
        print(f"no{which} versions of {args.group}; register one with `mlops registry register {args.group} --job JOB`")
        return 0
    print_table(PACKAGE_COLUMNS, [package_row(p) for p in packages])
    return 0


PACKAGE_COLUMNS = (
    Column("VERSION", align=">"),
    Column("STATUS"),
    Column("CREATED (UTC)"),
    Column("ALIASES", max_width=20),
    Column("JOB", elide="never"),
    Column("METRICS"),
)


def package_row(p: ModelPackage) -> list[str]:
    metrics = p.ModelMetrics.Metrics if p.ModelMetrics else {}
    shown = " ".join(f"{k}={v:.3f}" for k, v in list(metrics.items())[:3]) + (" …" if len(metrics) > 3 else "")
    return [
        str(p.ModelPackageVersion),
        p.ModelApprovalStatus.value,
        f"{p.CreationTime:%Y-%m-%d %H:%M}",
        ",".join(p.Aliases) or "-",
        p.Lineage.TrainingJobName or "-",
        shown or "-",
    ]


def cmd_describe(args: argparse.Namespace, settings: Settings) -> int:
    registry, _ = _open(settings)
    if args.alias:
        package = registry.describe_by_alias(args.group, args.alias)
    elif args.version is not None:
        package = registry.describe_model_package(args.group, args.version)
    else:
        packages = registry.list_model_packages(args.group)
        if not packages:
            from mlops.core.errors import NotFoundError

            raise NotFoundError("model package", f"{args.group} (no versions)")
        package = packages[-1]
    print(json.dumps(package.model_dump(mode="json"), indent=2))
    return 0


def _evaluate(
    settings: Settings, registry: Any, tracker: Any, package: ModelPackage, test: str | None, runtime: str
) -> ModelPackage:
    from mlops.services.datasets import dataset_store
    from mlops.services.registry import evaluate_package, held_out_test_file
    from mlops.services.runtimes import server_runtime

    test_csv = Path(test) if test else held_out_test_file(package, dataset_store(settings))
    job = _job(settings, package.Lineage.TrainingJobName or "")
    print(
        f"evaluating {package.ModelPackageGroupName} version {package.ModelPackageVersion} on {test_csv} …", flush=True
    )
    return evaluate_package(registry, tracker, package, job, server_runtime(settings, runtime), test_csv)


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    registry, tracker = _open(settings)
    package = registry.describe_model_package(args.group, args.version)
    package = _evaluate(settings, registry, tracker, package, args.test, args.runtime)
    _print_package(package)
    metrics = package.ModelMetrics
    if metrics is not None:
        if metrics.ConfusionMatrix:
            print(
                "  confusion matrix (rows: actual, columns: predicted): "
                + " ".join(str(list(row)) for row in metrics.ConfusionMatrix)
            )
        if metrics.ModelQuality and metrics.ModelQuality.Statistics:
            print(f"  report:     {metrics.ModelQuality.Statistics.S3Uri}")
        for plot in metrics.Plots:
            print(f"  plot:       {plot.S3Uri}")
    return 0
