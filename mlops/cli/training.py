"""Commands about training jobs, algorithms and the sample data."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.cli.arguments import add_command, add_runtime_argument, as_dict, key_value
from mlops.cli.table import Column, print_table, table_width
from mlops.core.algorithm import AlgorithmSpec
from mlops.core.errors import ValidationError
from mlops.core.training import ResourceConfig, TrainingInputMode, TrainingJob

if TYPE_CHECKING:
    from mlops.runtime.interface import TrainingRuntime
    from mlops.settings import Settings

SHOWN_METRICS = 3  # in `mlops jobs`; `mlops jobs describe` has them all


def _fmt_time(job: TrainingJob) -> str:
    return job.LastModifiedTime.strftime("%H:%M:%S")


class TransitionPrinter:
    """Prints each secondary-status transition once, from the job record (so none is missed by polling)."""

    def __init__(self) -> None:
        self.printed = 0

    def __call__(self, job: TrainingJob) -> None:
        for t in job.SecondaryStatusTransitions[self.printed :]:
            status = job.TrainingJobStatus.value if t is job.SecondaryStatusTransitions[-1] else "InProgress"
            print(f"[{t.StartTime:%H:%M:%S}] {status:<10} {t.Status.value:<12} {t.StatusMessage}", flush=True)
        self.printed = len(job.SecondaryStatusTransitions)


def _metrics_text(job: TrainingJob) -> str:
    return " ".join(f"{k}={v:.6g}" for k, v in job.final_metrics.items())


def short_metrics(job: TrainingJob, limit: int = SHOWN_METRICS) -> tuple[str, bool]:
    """The first few metrics a job was judged on (validation ones, else whatever it emitted) and
    whether some were left out."""
    metrics = job.final_metrics
    items = [(k, v) for k, v in metrics.items() if k.startswith("validation:")] or list(metrics.items())
    text = " ".join(f"{k}={v:.4g}" for k, v in items[:limit])
    return (text + " …", True) if len(items) > limit else (text, False)


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.catalog import algorithm_catalog
    from mlops.services.runtimes import training_runtime
    from mlops.services.training import TrainingInput, start_training

    channels = {"train": args.train}
    if args.validation:
        channels["validation"] = args.validation
    for name, location in as_dict(args.channel, "--channel").items():
        if name in channels:
            raise ValidationError(f"--channel {name}", f"the {name} channel is given by --{name} already")
        channels[name] = location
    inp = TrainingInput(
        algorithm=args.algorithm,
        channels=channels,
        hyperparameters=as_dict(args.hp, "--hp"),
        content_type=args.content_type,
        input_mode=TrainingInputMode(args.input_mode),
        job_name=args.job_name,
        image=args.image,
        resources=ResourceConfig(Cpus=args.cpus, MemoryMiB=args.memory_mib),
        max_runtime_seconds=args.max_runtime,
        environment=as_dict(args.env, "--env"),
        network_isolation=not args.network,
        metric_definitions=as_dict(args.metric, "--metric"),
    )
    runtime = training_runtime(settings, args.runtime)
    job = start_training(runtime, algorithm_catalog(settings), inp, settings.artifacts)
    print(f"training job {job.TrainingJobName} on the {runtime.name} runtime", flush=True)
    printer = TransitionPrinter()
    if args.no_wait:
        return 0
    if not (settings.tracking if args.track is None else args.track):  # --no-track: MLflow is never imported
        return _print_outcome(_wait(runtime, job, printer))
    from mlops.services.tracking import TrackerOpening

    tracking = TrackerOpening(settings)  # MLflow's import and store open while the job runs
    job = _wait(runtime, job, printer)
    try:  # tracking must never lose a finished job: a failure here is only a warning
        from mlops.services.datasets import dataset_store
        from mlops.services.tracking import track_training_job

        run_id = track_training_job(
            tracking.tracker(),
            job,
            history=runtime.metric_history(job.TrainingJobName),
            datasets=dataset_store(settings),
        )
        print(f"tracked as MLflow run {run_id} ({settings.mlflow_uri})")
    except Exception as e:
        print(f"warning: the job was not tracked in MLflow: {e}", file=sys.stderr)
    return _print_outcome(job)


def _wait(runtime: TrainingRuntime, job: TrainingJob, printer: TransitionPrinter) -> TrainingJob:
    """The job once it ended; Ctrl-C stops it and still waits for its final record."""
    try:
        return runtime.wait(job.TrainingJobName, printer)
    except KeyboardInterrupt:
        print(f"\nstopping {job.TrainingJobName} …", flush=True)
        runtime.stop_training_job(job.TrainingJobName)
        return runtime.wait(job.TrainingJobName, printer)


def _print_outcome(job: TrainingJob) -> int:
    if job.FinalMetricDataList:
        print("metrics: " + _metrics_text(job))
    if job.FailureReason:
        print(f"failure reason: {job.FailureReason}", file=sys.stderr)
        print(f"log: mlops logs {job.TrainingJobName}", file=sys.stderr)
    if job.ModelArtifacts:
        print(f"model artifact: {job.ModelArtifacts.S3ModelArtifacts}")
        print(f"sha256: {job.ModelArtifactSha256}")
    return 0 if job.TrainingJobStatus.value == "Completed" else 1


def _runtime(settings: Settings, name: str = "local"):  # type: ignore[no-untyped-def]
    from mlops.services.runtimes import training_runtime

    return training_runtime(settings, name)


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    runtime = _runtime(settings)
    if args.action == "describe":
        if not args.job:
            raise ValidationError("JOB", "name the job to describe")
        print(json.dumps(runtime.describe_training_job(args.job).model_dump(mode="json"), indent=2))
        return 0
    if args.action == "stop":
        if not args.job:
            raise ValidationError("JOB", "name the job to stop")
        runtime.stop_training_job(args.job)
        print(f"stopping {args.job}")
        return 0
    jobs = runtime.list_training_jobs()
    if not jobs:
        print("no training jobs yet; start one with `mlops train --help`")
        return 0
    print_jobs(jobs)
    return 0


JOB_COLUMNS = (
    Column("NAME", elide="never"),
    Column("STATUS"),
    Column("RUNTIME"),
    Column("DURATION", align=">"),
    Column("METRICS"),
)


def job_rows(jobs: list[TrainingJob]) -> tuple[list[list[str]], bool]:
    rows, elided = [], False
    for job in jobs:
        duration = job.duration_seconds
        metrics, more = short_metrics(job)
        elided = elided or more
        rows.append(
            [
                job.TrainingJobName,
                job.TrainingJobStatus.value,
                job.RuntimeName,
                f"{duration:.1f}s" if duration is not None else "-",
                metrics or "-",
            ]
        )
    return rows, elided


def print_jobs(jobs: list[TrainingJob]) -> None:
    rows, elided = job_rows(jobs)
    print_table(JOB_COLUMNS, rows)
    if elided:
        print("(… more metrics: `mlops jobs describe NAME` has them all)")


def cmd_logs(args: argparse.Namespace, settings: Settings) -> int:
    runtime = _runtime(settings)
    runtime.describe_training_job(args.job)  # an unknown job is an error, not an empty log
    path = runtime.log_path(args.job)
    position = 0
    while True:
        if path.exists():
            with open(path, errors="replace") as f:
                f.seek(position)
                chunk = f.read()
                position = f.tell()
            sys.stdout.write(chunk)
            sys.stdout.flush()
        if not args.follow or runtime.describe_training_job(args.job).TrainingJobStatus.terminal:
            return 0
        time.sleep(0.5)


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.evaluation import evaluate_job
    from mlops.services.runtimes import server_runtime

    job = _runtime(settings).describe_training_job(args.job)
    result = evaluate_job(job, Path(args.test), server_runtime(settings, args.runtime))
    print(f"evaluated {job.TrainingJobName} on {result.rows} rows ({result.problem}):")
    for name, value in result.metrics.items():
        print(f"  {name:<10} {value:.4f}")
    return 0


def cmd_algorithms(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.catalog import algorithm_catalog

    catalog = algorithm_catalog(settings)
    if args.action == "describe":
        if not args.name:
            raise ValidationError("NAME", f"name the algorithm to describe: one of {', '.join(catalog.names())}")
        print_algorithm(catalog.get(args.name))
        return 0
    names = catalog.names()
    if not names:
        print(f"no algorithms under {settings.algorithms_dir}")
        return 0
    specs = [catalog.get(name) for name in names]
    print_table(
        (Column("NAME", elide="never"), Column("VERSION"), Column("DESCRIPTION")),
        [[s.AlgorithmName, s.AlgorithmVersion, s.AlgorithmDescription] for s in specs],
    )
    print("(hyperparameters, channels and answers: `mlops algorithms describe NAME`)")
    return 0


def print_algorithm(spec: AlgorithmSpec) -> None:
    print(f"{spec.AlgorithmName} {spec.AlgorithmVersion}: {spec.AlgorithmDescription}\n")
    print("hyperparameters:")
    for hp in spec.TrainingSpecification.SupportedHyperParameters:
        flags = " (required)" if hp.IsRequired else f" (default {hp.DefaultValue})" if hp.DefaultValue else ""
        print(f"  {hp.Name:<38} {hp.describe_range()}{flags}")
    print("\nchannels (text/csv: no header, label first; make such files with `mlops data split`):")
    for c in spec.TrainingSpecification.TrainingChannels:
        print(f"  {c.Name:<12} {'required' if c.IsRequired else 'optional':<9} {', '.join(c.SupportedContentTypes)}")
    objectives = [
        f"{o.MetricName} ({o.Type.value})" for o in spec.TrainingSpecification.SupportedTuningJobObjectiveMetrics
    ]
    print("\n" + "\n".join(_wrap_items("tuning objectives: ", objectives, table_width())))
    inference = spec.InferenceSpecification
    print("inference content types: " + ", ".join(inference.SupportedContentTypes))
    if inference.ModelArtifactFiles:
        print("its model.tar.gz holds: " + ", ".join(inference.ModelArtifactFiles))
    print_answers(spec)


def _wrap_items(prefix: str, items: list[str], width: int) -> list[str]:
    """``prefix`` and the items comma-separated, wrapped between items (never inside one)."""
    lines, line = [], prefix
    for i, item in enumerate(items):
        text = item + ("," if i < len(items) - 1 else "")
        if line.strip() and len(line) + len(text) > width:
            lines.append(line.rstrip())
            line = "  "
        line += text + " "
    return [*lines, line.rstrip()]


def print_answers(spec: AlgorithmSpec) -> None:
    """What POST /invocations answers for each Accept type, from the algorithm's own algorithm.json."""
    inference = spec.InferenceSpecification
    default = inference.DefaultResponseMIMEType or "the request's content type"
    print(f"\nanswers (choose with the Accept header, e.g. `mlops invoke --accept TYPE`; without one: {default}):")
    if not inference.ResponseFormats:
        print("  " + ", ".join(inference.SupportedResponseMIMETypes) + " (not described in algorithm.json)")
        return
    width = max(len(f.MIMEType) for f in inference.ResponseFormats) + 2
    wrap = max(table_width() - width - 4, 40)
    for f in inference.ResponseFormats:
        lines = textwrap.wrap(f.Answer, wrap) or [""]
        print(f"  {f.MIMEType:<{width}}{lines[0]}")
        for line in lines[1:]:
            print(f"  {'':<{width}}{line}")
        if f.Example is not None:  # newlines shown as \\n: the answer's exact text
            example = f.Example.replace("\n", "\\n")
            print(f"    e.g. {example}")


def cmd_sample_data(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.data.churn_sample import write_demo_files

    files = write_demo_files(Path(args.out), rows=args.rows, seed=args.seed)
    print(
        f"wrote {files.table} ({args.rows} rows) and label-first splits {files.train.name}, "
        f"{files.validation.name}, {files.test.name} in {files.table.parent}\n"
        f"  {len(files.feature_names)} features, encoded as `mlops data ingest churn --source {files.table}` encodes "
        f"them (each file's encoding beside it: {files.train.name}.encoding.json …)"
    )
    return 0


def add_training_parsers(sub: Any) -> None:
    p = add_command(
        sub,
        "train",
        help="run a training job with a built-in or your own algorithm",
        description="Run a training job as SageMaker would: channels, string hyperparameters, metrics from the "
        "log, model.tar.gz in the artifact store. CSV channels are headerless with the label first (make them "
        "with `mlops data ingest` and `mlops data split`, or `mlops sample-data`).",
        examples="examples:\n  mlops train --algorithm xgboost --train data/train.csv "
        "--validation data/validation.csv \\\n      --hp objective=binary:logistic "
        "--hp num_round=200\n"
        "  mlops train --algorithm xgboost --train data/train.csv --no-track   # quick try: no MLflow run"
        "\n\nSee an algorithm's hyperparameters with "
        "`mlops algorithms describe NAME`.",
    )
    p.add_argument("--algorithm", help="an algorithm folder under algorithms/ (see `mlops algorithms`)")
    p.add_argument("--train", required=True, help="training data: a file, a folder, file:// or s3:// URI")
    p.add_argument("--validation", help="validation data (metrics, early stopping)")
    p.add_argument(
        "--channel",
        action="append",
        default=[],
        type=key_value("--channel", "test=data/test.csv"),
        metavar="NAME=PATH",
        help="any other channel (repeat)",
    )
    p.add_argument(
        "--hp",
        action="append",
        default=[],
        type=key_value("--hp", "num_round=10"),
        metavar="NAME=VALUE",
        help="a hyperparameter (repeat)",
    )
    p.add_argument(
        "--content-type",
        default="text/csv",
        help="channel content type: text/csv (no header, label first), text/libsvm, "
        "application/x-recordio-protobuf (default text/csv)",
    )
    p.add_argument("--input-mode", choices=["File", "Pipe"], default="File", help="File (default) or Pipe")
    add_runtime_argument(p, "where the job runs")
    p.add_argument("--image", help="with --runtime docker: any image that follows the SageMaker contract")
    p.add_argument(
        "--metric",
        action="append",
        default=[],
        type=key_value("--metric", "'validation:rmse=rmse: ([0-9.]+)'"),
        metavar="NAME=REGEX",
        help="with --image: a metric to read from the log (the regex's first group is the value)",
    )
    p.add_argument("--job-name", help="default: ALGORITHM-TIMESTAMP")
    p.add_argument("--cpus", type=float, help="CPU limit")
    p.add_argument("--memory-mib", type=int, help="memory limit in MiB")
    p.add_argument("--max-runtime", type=int, default=86400, help="MaxRuntimeInSeconds (default 86400)")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        type=key_value("--env", "OMP_NUM_THREADS=1"),
        metavar="NAME=VALUE",
        help="an environment variable (repeat)",
    )
    p.add_argument("--network", action="store_true", help="allow network access (docker; default: isolated)")
    p.add_argument("--no-wait", action="store_true", help="start the job and return")
    p.add_argument(
        "--track",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="record the finished job as an MLflow run (default: MLOPS_TRACKING, on); --no-track skips "
        "MLflow altogether (`mlops registry register` still tracks the job it registers)",
    )
    p.set_defaults(func=cmd_train)

    p = add_command(
        sub,
        "jobs",
        help="list, describe or stop training jobs",
        description="List training jobs (name, status, runtime, duration and their first validation metrics), "
        "print one job's DescribeTrainingJob record as JSON (every metric, hyperparameter and status "
        "transition), or stop a running job.",
        examples="examples:\n  mlops jobs\n  mlops jobs describe JOB\n  mlops jobs stop JOB",
    )
    p.add_argument("action", nargs="?", choices=["list", "describe", "stop"], default="list")
    p.add_argument("job", nargs="?", help="job name (describe, stop)")
    p.set_defaults(func=cmd_jobs)

    p = add_command(
        sub,
        "logs",
        help="print a training job's log",
        description="Print what a training job's algorithm wrote (its #metric lines included); with --follow, keep "
        "printing until the job ends.",
        examples="examples:\n  mlops logs JOB\n  mlops logs JOB --follow",
    )
    p.add_argument("job", help="job name (see `mlops jobs`)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
    p.set_defaults(func=cmd_logs)

    p = add_command(
        sub,
        "evaluate",
        help="serve a trained model and score it on a label-first CSV",
        description="Start the job's model server, send the test rows through POST /invocations and print "
        "the metrics (AUC, accuracy … or RMSE, MAE, R²). The CSV is headerless with the label first, like "
        "the training channels: the test part of `mlops data split`, or data/test.csv of `mlops sample-data`.",
        examples="example:\n  mlops evaluate JOB --test data/test.csv",
    )
    p.add_argument("job", help="a Completed training job (see `mlops jobs`)")
    p.add_argument("--test", required=True, help="label-first CSV without header")
    add_runtime_argument(p, "where the model server runs", servers=True)
    p.set_defaults(func=cmd_evaluate)

    p = add_command(
        sub,
        "algorithms",
        help="list algorithms or describe one's hyperparameters, channels and answers",
        description="List the algorithms of the catalog, or describe one: its hyperparameters and their ranges, "
        "its channels, tuning objectives, and what its model server answers for each response type.",
        examples="examples:\n  mlops algorithms\n  mlops algorithms describe xgboost",
    )
    p.add_argument("action", nargs="?", choices=["list", "describe"], default="list")
    p.add_argument("name", nargs="?", help="with describe: the algorithm")
    p.set_defaults(func=cmd_algorithms)

    p = add_command(
        sub,
        "sample-data",
        help="write the bundled churn dataset and its splits",
        description="Write a synthetic customer-churn table (churn.csv, with a header, for `mlops data ingest`) "
        "and its label-first, headerless train/validation/test splits (for `mlops train` and `mlops evaluate`).",
        examples="example:\n  mlops sample-data --out data --rows 50000\n"
        "  mlops train --algorithm xgboost --train data/train.csv --hp objective=binary:logistic --hp num_round=50",
    )
    p.add_argument("--out", default="data", help="the folder to write (default data)")
    p.add_argument("--rows", type=int, default=50_000, help="rows of the table (default 50000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.set_defaults(func=cmd_sample_data)
