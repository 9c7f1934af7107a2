"""``mlops demo``: what ``make demo`` runs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlops.cli.arguments import add_command
from mlops.cli.training import TransitionPrinter

if TYPE_CHECKING:
    from mlops.core.training import TrainingJob
    from mlops.settings import Settings


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.catalog import algorithm_catalog
    from mlops.services.demo import run_demo
    from mlops.services.runtimes import server_runtime, training_runtime

    started = time.monotonic()
    results = run_demo(
        training_runtime(settings, "local"),
        server_runtime(settings, "local"),
        algorithm_catalog(settings),
        settings.paths.demo_data,
        settings.artifacts,
        rows=args.rows,
        on_change=_follow_each_job(),
        on_step=lambda text: print(f"==> {text}", flush=True),
    )
    print("\nsummary (test split, scored through each model's /invocations):")
    print(f"  {'ALGORITHM':<16} {'STATUS':<10} {'AUC':>7} {'ACCURACY':>9} {'F1':>7}  JOB")
    ok = True
    for r in results:
        m = r.evaluation.metrics if r.evaluation else {}
        ok = ok and r.evaluation is not None
        cells = [f"{m[k]:.4f}" if k in m else "-" for k in ("auc", "accuracy", "f1")]
        print(
            f"  {r.algorithm:<16} {r.job.TrainingJobStatus.value:<10} {cells[0]:>7} {cells[1]:>9} {cells[2]:>7}"
            f"  {r.job.TrainingJobName}"
        )
        if r.job.FailureReason:
            print(f"    failure reason: {r.job.FailureReason}")
    print("\nmodel artifacts:")
    for r in results:
        if r.job.ModelArtifacts:
            print(f"  {r.job.ModelArtifacts.S3ModelArtifacts}")
    print(f"\nnext: `mlops jobs`, `mlops jobs describe JOB`, `mlops logs JOB`  ({time.monotonic() - started:.0f} s)")
    return 0 if ok and results else 1


def _follow_each_job() -> Callable[[TrainingJob], None]:
    printers: dict[str, TransitionPrinter] = {}

    def on_change(job: TrainingJob) -> None:
        printers.setdefault(job.TrainingJobName, TransitionPrinter())(job)

    return on_change


def add_demo_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = add_command(
        sub,
        "demo",
        help="train, serve and score every built-in algorithm on the bundled churn data",
        description="Write the bundled churn data, train each built-in algorithm on the local runtime, serve each "
        "model and score it on the test split through POST /invocations, then print a summary.",
        examples="examples:\n  mlops demo\n  mlops demo --rows 5000      # faster",
    )
    p.add_argument("--rows", type=int, default=50_000, help="rows of the generated churn table (default 50000)")
    p.set_defaults(func=cmd_demo)
