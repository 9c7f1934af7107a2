"""Commands about training jobs, algorithms and the sample data."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mlops.core.errors import ValidationError
from mlops.core.training import ResourceConfig, TrainingInputMode, TrainingJob
from mlops.settings import Settings


def _key_values(items: Sequence[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationError(what, f"{item!r} is not KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


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


def _metrics_text(job: TrainingJob, only_validation: bool = False) -> str:
    items = [(k, v) for k, v in job.final_metrics.items() if not only_validation or not k.startswith("train:")]
    return " ".join(f"{k}={v:.6g}" for k, v in items)


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.algorithms.catalog import AlgorithmCatalog
    from mlops.services.runtimes import training_runtime
    from mlops.services.training import TrainingInput, start_training

    channels = {"train": args.train}
    if args.validation:
        channels["validation"] = args.validation
    channels.update(_key_values(args.channel, "--channel"))
    inp = TrainingInput(
        algorithm=args.algorithm,
        channels=channels,
        hyperparameters=_key_values(args.hp, "--hp"),
        content_type=args.content_type,
        input_mode=TrainingInputMode(args.input_mode),
        job_name=args.job_name,
        image=args.image,
        resources=ResourceConfig(Cpus=args.cpus, MemoryMiB=args.memory_mib),
        max_runtime_seconds=args.max_runtime,
        environment=_key_values(args.env, "--env"),
        network_isolation=not args.network,
        metric_definitions=_key_values(args.metric, "--metric"),
    )
    runtime = training_runtime(settings, args.runtime)
    job = start_training(runtime, AlgorithmCatalog(settings.algorithms_dir), inp, settings.artifacts)
    print(f"training job {job.TrainingJobName} on the {runtime.name} runtime", flush=True)
    printer = TransitionPrinter()
    if args.no_wait:
        return 0
    try:
        job = runtime.wait(job.TrainingJobName, printer)
    except KeyboardInterrupt:
        print(f"\nstopping {job.TrainingJobName} …", flush=True)
        runtime.stop_training_job(job.TrainingJobName)
        job = runtime.wait(job.TrainingJobName, printer)
    try:  # tracking must never lose a finished job: a failure here is only a warning
        from mlops.services.datasets import dataset_store
        from mlops.services.tracking import open_tracker, track_training_job

        run_id = track_training_job(
            open_tracker(settings), job, history=runtime.metric_history(job.TrainingJobName),
            datasets=dataset_store(settings),
        )
        print(f"tracked as MLflow run {run_id} ({settings.mlflow_uri})")
    except Exception as e:
        print(f"warning: the job was not tracked in MLflow: {e}", file=sys.stderr)
    return _print_outcome(job)


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
    print(f"{'NAME':<48} {'STATUS':<10} {'RUNTIME':<7} {'DURATION':>8}  METRICS")
    for job in jobs:
        duration = job.duration_seconds
        took = f"{duration:.1f}s" if duration is not None else "-"
        print(
            f"{job.TrainingJobName:<48} {job.TrainingJobStatus.value:<10} {job.RuntimeName:<7} {took:>8}  "
            f"{_metrics_text(job, only_validation=True)}"
        )
    return 0


def cmd_logs(args: argparse.Namespace, settings: Settings) -> int:
    runtime = _runtime(settings)
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
    from mlops.algorithms.catalog import AlgorithmCatalog

    catalog = AlgorithmCatalog(settings.algorithms_dir)
    if args.action == "describe":
        spec = catalog.get(args.name)
        print(f"{spec.AlgorithmName} {spec.AlgorithmVersion}: {spec.AlgorithmDescription}\n")
        print("hyperparameters:")
        for hp in spec.TrainingSpecification.SupportedHyperParameters:
            flags = " (required)" if hp.IsRequired else f" (default {hp.DefaultValue})" if hp.DefaultValue else ""
            print(f"  {hp.Name:<38} {hp.describe_range()}{flags}")
        print("\nchannels:")
        for c in spec.TrainingSpecification.TrainingChannels:
            print(
                f"  {c.Name:<12} {'required' if c.IsRequired else 'optional':<9} {', '.join(c.SupportedContentTypes)}"
            )
        print(
            "\ntuning objectives: "
            + ", ".join(
                f"{o.MetricName} ({o.Type.value})"
                for o in spec.TrainingSpecification.SupportedTuningJobObjectiveMetrics
            )
        )
        print("inference content types: " + ", ".join(spec.InferenceSpecification.SupportedContentTypes))
        return 0
    for name in catalog.names():
        spec = catalog.get(name)
        print(f"{name:<18} {spec.AlgorithmVersion:<6} {spec.AlgorithmDescription}")
    return 0


def cmd_sample_data(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.data.churn_sample import write_demo_files

    files = write_demo_files(Path(args.out), rows=args.rows, seed=args.seed)
    print(
        f"wrote {files.table} ({args.rows} rows) and label-first splits {files.train.name}, "
        f"{files.validation.name}, {files.test.name} in {files.table.parent}"
    )
    return 0
