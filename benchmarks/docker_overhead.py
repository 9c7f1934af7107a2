"""What running `train` in a container costs: the same xgboost job through the local process runtime
and the Docker runtime, several runs each, in one process on one machine.

Prints, per runtime, the medians of the total time (CreateTrainingJob to a terminal status) and of
start-to-first-log-line time (CreateTrainingJob to the algorithm's first line in the job's log), and
the Docker runtime's extra time per job. Goal: at most 2 s extra per job.

    mlops images build xgboost
    python benchmarks/docker_overhead.py [--rows 200000] [--runs 5] [--num-round 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.training import (
    AlgorithmSpecification,
    Channel,
    DataSource,
    OutputDataConfig,
    S3DataSource,
    TrainingJobRequest,
    TrainingJobStatus,
)
from mlops.data.churn_sample import write_demo_files
from mlops.runtime.supervised import SupervisedRuntime
from mlops.settings import Settings


def _request(name: str, train: Path, validation: Path, artifacts: str, num_round: int, catalog: AlgorithmCatalog):  # type: ignore[no-untyped-def]
    return TrainingJobRequest(
        TrainingJobName=name,
        AlgorithmSpecification=AlgorithmSpecification(
            AlgorithmName="xgboost", MetricDefinitions=catalog.get("xgboost").TrainingSpecification.MetricDefinitions
        ),
        HyperParameters={
            "objective": "binary:logistic",
            "num_round": str(num_round),
            "max_depth": "6",
            "eta": "0.2",
            "seed": "7",
        },
        InputDataConfig=tuple(
            Channel(ChannelName=c, DataSource=DataSource(S3DataSource=S3DataSource(S3Uri=str(p.resolve()))))
            for c, p in (("train", train), ("validation", validation))
        ),
        OutputDataConfig=OutputDataConfig(S3OutputPath=artifacts),
    )


def _one_job(runtime: SupervisedRuntime, request: TrainingJobRequest) -> tuple[float, float]:
    name = request.TrainingJobName
    first_line: list[float] = []
    started = time.perf_counter()
    done = threading.Event()

    def watch_log() -> None:
        path = runtime.jobs.log_path(name)
        while not done.is_set():
            if path.exists() and path.stat().st_size > 0:
                first_line.append(time.perf_counter() - started)
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch_log, daemon=True)
    watcher.start()
    runtime.create_training_job(request)
    while not (job := runtime.describe_training_job(name)).TrainingJobStatus.terminal:
        time.sleep(0.02)
    total = time.perf_counter() - started
    done.set()
    watcher.join()
    if job.TrainingJobStatus is not TrainingJobStatus.Completed:
        raise SystemExit(f"{name} ended {job.TrainingJobStatus.value}: {job.FailureReason}")
    return total, first_line[0] if first_line else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--num-round", type=int, default=50)
    args = parser.parse_args(argv)

    from mlops.runtime.docker import DockerRuntime
    from mlops.runtime.docker_engine import connect, default_image, find_image
    from mlops.runtime.local_process import LocalProcessRuntime

    client = connect()
    find_image(client, default_image("xgboost"))
    client.close()
    with tempfile.TemporaryDirectory(prefix="docker-overhead-") as tmp:
        home = Path(tmp)
        settings = Settings(home=home / "home")
        catalog = AlgorithmCatalog(settings.algorithms_dir)
        t0 = time.perf_counter()
        files = write_demo_files(home / "data", rows=args.rows)
        print(
            f"data: {args.rows} rows x {len(files.feature_names)} features "
            f"({files.train.stat().st_size / 1e6:.1f} MB train CSV, made in {time.perf_counter() - t0:.1f} s); "
            f"xgboost num_round={args.num_round}; {args.runs} runs per runtime, alternating",
            flush=True,
        )
        runtimes: dict[str, SupervisedRuntime] = {
            "local": LocalProcessRuntime(settings.jobs_dir, catalog),
            "docker": DockerRuntime(settings.jobs_dir, catalog),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in runtimes}
        for run in range(args.runs + 1):  # run 0 warms caches (page cache, image layers) and is dropped
            for name, runtime in runtimes.items():
                request = _request(
                    f"{name}-{run}", files.train, files.validation, settings.artifacts, args.num_round, catalog
                )
                total, first = _one_job(runtime, request)
                if run:
                    results[name].append((total, first))
                print(f"  run {run} {name:<6} total {total:6.2f} s, first log line {first:5.2f} s", flush=True)
    medians = {
        name: (statistics.median(t for t, _ in rs), statistics.median(f for _, f in rs)) for name, rs in results.items()
    }
    print()
    print(f"{'runtime':<10} {'median total':>13} {'median to first log line':>25}")
    for name, (total, first) in medians.items():
        print(f"{name:<10} {total:>12.2f}s {first:>24.2f}s")
    extra_total = medians["docker"][0] - medians["local"][0]
    extra_first = medians["docker"][1] - medians["local"][1]
    print(f"{'docker - local':<10} {extra_total:>+11.2f}s {extra_first:>+24.2f}s   (goal: <= 2 s extra per job)")
    return 0 if extra_total <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
