"""Time of each stage of the training pipeline and Airflow's own scheduling overhead per task.

    python benchmarks/pipeline_timing.py [--runs 1] [--rows 20000] [--max-jobs 4]
    python benchmarks/pipeline_timing.py --url http://127.0.0.1:8080 --password PW [--run-id RUN]

Without --url it boots its own Airflow and endpoint router in a scratch MLOPS_HOME (as
`make demo` does), runs the pipeline end to end (approving over the REST API), and reads every task
instance over the REST API. With --url it measures a running Airflow (`make up`): a new run, or the
finished run --run-id.

A task's scheduling overhead is the time from the end of its last upstream task to its own start
(scheduler loop, queueing, worker process start, code import). The peer measured in the same run is
the tasks' own work: the ratio overhead / work says how much of the pipeline's wall time Airflow adds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/pipeline_timing.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import median, save, scratch_settings, table
from mlops.airflow.demo import DAG_ID, run_pipeline
from mlops.airflow.rest import AirflowClient
from mlops.airflow.stack import AirflowStack, free_port, start_router
from mlops.airflow.timing import StageTime, as_dicts, stage_times, timing_table


def conf(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "bundled_rows": args.rows,
        "max_jobs": args.max_jobs,
        "max_parallel": 2,
        "deployment_strategy": "canary",
        "bake_seconds": 5,
        "smoke_requests": 300,
    }


def measure(client: AirflowClient, args: argparse.Namespace) -> list[tuple[str, list[StageTime], float]]:
    out = []
    for _ in range(args.runs):
        started = time.monotonic()
        run_id, run = run_pipeline(client, conf(args), approve=True, started=started)
        wall = time.monotonic() - started
        rows = stage_times(client, DAG_ID, run_id)
        print(f"\nrun {run_id}: {run['state']}")
        print(timing_table(rows, wall))
        out.append((run_id, rows, wall))
    return out


def summarize(results: list[tuple[str, list[StageTime], float]]) -> None:
    by_task: dict[str, list[StageTime]] = {}
    for _, rows, _ in results:
        for r in rows:
            by_task.setdefault(r.task_id, []).append(r)
    lines = []
    for task, rows in by_task.items():
        took = [r.duration for r in rows if r.duration is not None]
        waited = [r.overhead for r in rows if r.overhead is not None]
        lines.append([task, f"{median(took):.1f}" if took else "-", f"{median(waited):.1f}" if waited else "-"])
    print("\nmedian over runs")
    print(table(["task", "took s", "scheduling s"], lines))
    overhead = sum(r.overhead or 0 for _, rows, _ in results for r in rows if r.state == "success")
    work = sum(r.duration or 0 for _, rows, _ in results for r in rows if r.state == "success")
    if work:
        print(f"\nAirflow scheduling overhead / task work: {overhead:.1f}s / {work:.1f}s = {overhead / work:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running Airflow (default: boot one)")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default=os.environ.get("AIRFLOW_PASSWORD"))
    parser.add_argument("--run-id", help="measure this finished run instead of starting one (with --url)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--max-jobs", type=int, default=4)
    args = parser.parse_args()

    if args.url:
        client = AirflowClient(args.url, args.user, args.password)
        if args.run_id:
            rows = stage_times(client, DAG_ID, args.run_id)
            print(timing_table(rows))
            save("pipeline_timing", {"runs": [{"run_id": args.run_id, "stages": as_dicts(rows)}]})
            return
        results = measure(client, args)
    else:
        settings = scratch_settings("pipeline").model_copy(update={"router_port": free_port()})
        os.environ["MLOPS_HOME"] = str(settings.home)
        os.environ["MLOPS_ROUTER_PORT"] = str(settings.router_port)
        boot = time.monotonic()
        router = start_router(settings, settings.home / "logs" / "router.log")
        stack = AirflowStack(settings, settings.home / "airflow", free_port())
        try:
            stack.start()
            client = stack.wait_ready()
            print(f"airflow ready in {time.monotonic() - boot:.1f}s (home {settings.home})")
            results = measure(client, args)
        finally:
            stack.stop()
            if router is not None:
                router.stop()
    summarize(results)
    path = save(
        "pipeline_timing",
        {
            "runs": [
                {"run_id": run_id, "wall_seconds": wall, "stages": as_dicts(rows)} for run_id, rows, wall in results
            ]
        },
    )
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
