"""``mlops tune`` and ``mlops tuning-jobs``: automatic model tuning from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from mlops.cli.arguments import add_runtime_argument, as_dict, key_value, name_equals, split_key_value
from mlops.cli.table import Column, print_table
from mlops.core.errors import ValidationError
from mlops.core.ids import unique_job_name
from mlops.core.tuning import (
    HyperParameterTuningJobStrategyType,
    HyperParameterTuningJobWarmStartConfig,
    ObjectiveType,
    ParameterRanges,
    ParentHyperParameterTuningJob,
    ResourceLimits,
    TrainingJobEarlyStoppingType,
    TuningJobCompletionCriteria,
    WarmStartType,
)
from mlops.core.tuning_job import TuningJob
from mlops.services.tuning_config import RANGE_HELP, tuning_job_config, tuning_objective
from mlops.services.tuning_config import parse_ranges as parse_range_items

if TYPE_CHECKING:
    from mlops.settings import Settings

RANGE_FORM = "NAME=MIN:MAX[:int][:log|linear|reverse-log|auto] or NAME=A,B,C"
RANGE_EXAMPLE = "eta=0.01:0.5:log"


def parse_ranges(items: list[str]) -> ParameterRanges:
    """``--range`` options (``NAME=SPEC``, the syntax of ``mlops.services.tuning_config``) as ParameterRanges."""
    return parse_range_items((split_key_value(item, "--range", RANGE_EXAMPLE, RANGE_FORM) for item in items), "--range")


def _direction(args: argparse.Namespace) -> ObjectiveType | None:
    if args.maximize:
        return ObjectiveType.Maximize
    if args.minimize:
        return ObjectiveType.Minimize
    return None


class ProgressLine:
    """One live line (rewritten in place on a terminal) with jobs done/running/stopped and the best so far."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.last = ""

    def __call__(self, job: TuningJob) -> None:
        c = job.TrainingJobStatusCounters
        limit = job.HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs
        done = c.Completed + c.Stopped + c.NonRetryableError
        best = job.BestTrainingJob
        metric = best.FinalHyperParameterTuningJobObjectiveMetric if best else None
        best_text = f"best {metric.MetricName}={metric.Value:.5g} ({best.TrainingJobName})" if best and metric else ""
        text = (
            f"[{job.LastModifiedTime:%H:%M:%S}] {done}/{limit or '?'} done ({c.Completed} completed, "
            f"{c.Stopped} stopped, {c.NonRetryableError} failed), {c.InProgress} running  {best_text}"
        )
        if text[11:] == self.last[11:]:
            return
        self.last = text
        if self.tty:
            print("\r\033[K" + text, end="", flush=True)
        else:
            print(text, flush=True)


def cmd_tune(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.catalog import algorithm_catalog
    from mlops.services.tuning import TuningInput, build_tuning_request, start_tuning_job, wait_tuning_job
    from mlops.tuning.job_store import TuningJobStore

    strategy = HyperParameterTuningJobStrategyType(args.strategy.capitalize())
    catalog = algorithm_catalog(settings)
    spec = catalog.get(args.algorithm)
    config, static = tuning_job_config(
        strategy=strategy,
        objective=tuning_objective(
            spec, args.objective, _direction(args), "--objective", "; say --maximize or --minimize"
        ),
        ranges=parse_ranges(args.range),
        limits=ResourceLimits(
            MaxNumberOfTrainingJobs=args.max_jobs,
            MaxParallelTrainingJobs=args.max_parallel,
            MaxRuntimeInSeconds=args.max_runtime,
        ),
        resource=spec.TuningResourceHyperParameter,
        static=as_dict(args.static, "--static"),
        max_resource=args.max_resource,
        min_resource=args.min_resource,
        early_stopping=TrainingJobEarlyStoppingType(args.early_stopping.capitalize()),
        completion=TuningJobCompletionCriteria(TargetObjectiveMetricValue=args.target)
        if args.target is not None
        else None,
        seed=args.seed,
        resource_field="--max-resource",
    )
    warm = None
    if args.warm_start:
        warm = HyperParameterTuningJobWarmStartConfig(
            ParentHyperParameterTuningJobs=tuple(
                ParentHyperParameterTuningJob(HyperParameterTuningJobName=p) for p in args.warm_start
            ),
            WarmStartType=WarmStartType.TransferLearning
            if args.warm_start_type == "transfer"
            else WarmStartType.IdenticalDataAndAlgorithm,
        )
    channels = {"train": args.train, **({"validation": args.validation} if args.validation else {})}
    name = args.name or unique_job_name(f"{args.algorithm}-hpo")
    request = build_tuning_request(
        catalog,
        TuningInput(
            name=name,
            algorithm=args.algorithm,
            channels=channels,
            config=config,
            static_hyperparameters=static,
            content_type=args.content_type,
            warm_start=warm,
            runtime=args.runtime,
        ),
        settings.artifacts,
    )
    store = TuningJobStore(settings.paths.tuning_jobs)
    from mlops.settings import settings_environment

    start_tuning_job(store, request, settings_environment(settings))
    print(
        f"tuning job {name}: {strategy.value} search of {args.objective} "
        f"({config.HyperParameterTuningJobObjective.Type.value}), up to {args.max_jobs} jobs, "
        f"{args.max_parallel} in parallel on the {args.runtime} runtime",
        flush=True,
    )
    if args.no_wait:
        return 0
    progress = ProgressLine()
    try:
        job = wait_tuning_job(store, name, progress)
    except KeyboardInterrupt:
        from mlops.services.tuning import stop_tuning_job

        print(f"\nstopping {name} …", flush=True)
        stop_tuning_job(store, name)
        job = wait_tuning_job(store, name)
    if progress.tty:
        print()
    return _print_result(job)


def _print_result(job: TuningJob) -> int:
    print(f"tuning job {job.HyperParameterTuningJobName} {job.HyperParameterTuningJobStatus.value}")
    if job.FailureReason:
        print(f"failure reason: {job.FailureReason}", file=sys.stderr)
    best = job.BestTrainingJob
    if best and best.FinalHyperParameterTuningJobObjectiveMetric:
        metric = best.FinalHyperParameterTuningJobObjectiveMetric
        print(f"best training job: {best.TrainingJobName}  {metric.MetricName}={metric.Value:.6g}")
        print("  hyperparameters: " + " ".join(f"{k}={v}" for k, v in sorted(best.TunedHyperParameters.items())))
    if job.ConvergencePlot:
        print(f"convergence plot: {job.ConvergencePlot}")
    return 0 if job.HyperParameterTuningJobStatus.value == "Completed" else 1


def cmd_tuning_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.tuning import describe_tuning_job, stop_tuning_job
    from mlops.tuning.job_store import TuningJobStore

    store = TuningJobStore(settings.paths.tuning_jobs)
    if args.action in ("describe", "stop") and not args.name:
        raise ValidationError("NAME", f"name the tuning job to {args.action}")
    if args.action == "describe":
        print(json.dumps(describe_tuning_job(store, args.name).model_dump(mode="json"), indent=2))
        return 0
    if args.action == "stop":
        stop_tuning_job(store, args.name)
        print(f"stopping {args.name}")
        return 0
    names = store.names()
    if not names:
        print("no tuning jobs yet; start one with `mlops tune --help`")
        return 0
    print_table(TUNING_COLUMNS, [tuning_row(describe_tuning_job(store, name)) for name in names])
    return 0


TUNING_COLUMNS = (
    Column("NAME", elide="never"),
    Column("STATUS"),
    Column("STRATEGY"),
    Column("JOBS", align=">"),
    Column("BEST OBJECTIVE"),
)


def tuning_row(job: TuningJob) -> list[str]:
    config = job.HyperParameterTuningJobConfig
    c = job.TrainingJobStatusCounters
    limit = config.ResourceLimits.MaxNumberOfTrainingJobs
    best = job.BestTrainingJob
    metric = best.FinalHyperParameterTuningJobObjectiveMetric if best else None
    return [
        job.HyperParameterTuningJobName,
        job.HyperParameterTuningJobStatus.value,
        config.Strategy.value,
        f"{c.Completed + c.Stopped + c.NonRetryableError}/{limit or '?'}",
        f"{metric.MetricName}={metric.Value:.5g}" if metric else "-",
    ]


def add_tuning_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "tune",
        help="automatic model tuning: Bayesian, random, grid or Hyperband search over training jobs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a hyperparameter tuning job as SageMaker's Automatic Model Tuning does.",
        epilog="example:\n  mlops tune --algorithm xgboost --train data/train.csv --validation data/validation.csv \\\n"
        "     --objective validation:auc --maximize --strategy bayesian \\\n"
        "     --range eta=0.01:0.5:log --range max_depth=2:10:int --range subsample=0.5:1.0 \\\n"
        "     --static objective=binary:logistic --static num_round=100 --max-jobs 20 --max-parallel 2",
    )
    p.add_argument("--algorithm", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--validation")
    p.add_argument("--content-type", default="text/csv")
    p.add_argument("--objective", required=True, help="a metric the algorithm emits, e.g. validation:auc")
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--maximize", action="store_true")
    direction.add_argument("--minimize", action="store_true")
    p.add_argument("--strategy", choices=["bayesian", "random", "grid", "hyperband"], default="bayesian")
    p.add_argument(
        "--range",
        action="append",
        default=[],
        type=name_equals("--range", RANGE_EXAMPLE, RANGE_FORM),
        metavar="SPEC",
        help=RANGE_HELP,
    )
    p.add_argument(
        "--static",
        action="append",
        default=[],
        type=key_value("--static", "num_round=100"),
        metavar="NAME=VALUE",
        help="a fixed hyperparameter (repeat)",
    )
    p.add_argument("--max-jobs", type=int, help="MaxNumberOfTrainingJobs (optional for grid)")
    p.add_argument("--max-parallel", type=int, default=1, help="MaxParallelTrainingJobs (default 1)")
    p.add_argument("--max-runtime", type=int, help="wall-clock limit of the tuning job in seconds")
    p.add_argument(
        "--early-stopping",
        choices=["off", "auto"],
        default="off",
        help="auto: stop jobs whose objective is worse than the median of earlier jobs at the same step",
    )
    p.add_argument("--target", type=float, help="end the search once the objective reaches this value")
    p.add_argument("--seed", type=int, help="random seed of the strategy")
    p.add_argument("--max-resource", type=int, help="hyperband: steps of a full job (default: the static num_round)")
    p.add_argument("--min-resource", type=int, default=1, help="hyperband: fewest steps a job gets (default 1)")
    p.add_argument("--warm-start", action="append", metavar="TUNING_JOB", help="a parent tuning job (up to 5)")
    p.add_argument("--warm-start-type", choices=["identical", "transfer"], default="identical")
    add_runtime_argument(p, "where the training jobs run")
    p.add_argument("--name", help="tuning job name (default ALGORITHM-hpo-TIMESTAMP)")
    p.add_argument("--no-wait", action="store_true")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser(
        "tuning-jobs",
        help="list, describe or stop tuning jobs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="List tuning jobs (status, strategy, training jobs done of the limit, the best objective "
        "so far), print one as DescribeHyperParameterTuningJob JSON (BestTrainingJob names the best training "
        "job), or stop one.",
        epilog="examples:\n  mlops tuning-jobs\n  mlops tuning-jobs describe NAME\n  mlops tuning-jobs stop NAME",
    )
    p.add_argument("action", nargs="?", choices=["list", "describe", "stop"], default="list")
    p.add_argument("name", nargs="?", help="tuning job name (describe, stop)")
    p.set_defaults(func=cmd_tuning_jobs)
