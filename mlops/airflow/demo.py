"""``python -m mlops.airflow.demo`` (``make demo``): the training pipeline end to end on the embedded
default, with no manual step.

Boots Airflow (its four components as ``airflow standalone`` would, on loopback; AIRFLOW_HOME under
the settings home, the project's dags folder) and the endpoint router, waits for health, unpauses and
triggers ``training_pipeline`` over the REST API, approves the model over the REST API as the admin
user (exactly what the Required Actions page does), follows the run to its end, prints the summary and
the timing of every stage, and shuts everything it started down.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from mlops.airflow.report import MLFLOW_UI_ENV
from mlops.airflow.rest import TERMINAL_RUN_STATES, AirflowClient, settle
from mlops.airflow.stack import AirflowStack, Service, free_port, start_router
from mlops.airflow.timing import stage_times, timing_table
from mlops.core.clock import timestamp_slug
from mlops.settings import load_settings

DAG_ID = "training_pipeline"
MAKE_UP_MLFLOW = "http://127.0.0.1:5000"  # where `make up` serves the MLflow UI that the report links open


class Progress:
    """Prints each task's state changes as the run goes."""

    def __init__(self, client: AirflowClient, dag_id: str, run_id: str, started: float) -> None:
        self.client, self.dag_id, self.run_id, self.started = client, dag_id, run_id, started
        self.seen: dict[str, str] = {}

    def __call__(self) -> None:
        try:
            instances = self.client.task_instances(self.dag_id, self.run_id)
        except Exception:
            return
        for ti in sorted(instances, key=lambda t: t.get("start_date") or "9999"):
            state = str(ti.get("state"))
            if state in ("None", "scheduled", "queued") or self.seen.get(ti["task_id"]) == state:
                continue
            self.seen[ti["task_id"]] = state
            elapsed = time.monotonic() - self.started
            print(f"[{elapsed:6.1f}s] {ti['task_id']:<16} {state}", flush=True)


def _wait(client: AirflowClient, what: str, probe: Any, progress: Progress, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        progress()
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(2)


def run_pipeline(
    client: AirflowClient, conf: dict[str, Any], approve: bool, started: float, timeout: float = 1500.0
) -> tuple[str, dict[str, Any]]:
    """Trigger, answer the approval, follow to the end: (run_id, final dag run)."""
    client.unpause(DAG_ID)
    run_id = f"demo-{timestamp_slug()}"
    client.trigger(DAG_ID, conf, run_id)
    print(f"triggered {DAG_ID} run {run_id}", flush=True)
    progress = Progress(client, DAG_ID, run_id, started)

    def pending() -> Any:
        waiting = [h for h in client.hitl_details(DAG_ID, run_id) if not h.get("response_received")]
        if waiting:
            return waiting[0]
        if client.dag_run(DAG_ID, run_id)["state"] in TERMINAL_RUN_STATES:
            return {"ended": True}
        return None

    detail = _wait(client, "the approval", pending, progress, timeout)
    if not detail.get("ended"):
        settle(detail, 10.0)
        task_id = detail["task_instance"]["task_id"]
        print(f"\napproval requested: {detail['subject']}", flush=True)
        option = "Approve" if approve else "Reject"
        answer = client.respond(DAG_ID, run_id, task_id, option, {"comment": f"{option}d by the demo"})
        print(f"{option} as {answer['responded_by']['name']} over the REST API\n", flush=True)

    def ended() -> Any:
        run = client.dag_run(DAG_ID, run_id)
        return run if run["state"] in TERMINAL_RUN_STATES else None

    run = _wait(client, "the run to end", ended, progress, timeout)
    progress()
    return run_id, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops.airflow.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the bundled churn data")
    parser.add_argument("--max-jobs", type=int, default=4, help="the tuning budget (training jobs)")
    parser.add_argument("--parallel", type=int, default=2, help="training jobs at once")
    parser.add_argument("--strategy", default="canary", help="deployment strategy: canary, linear or all-at-once")
    parser.add_argument("--reject", action="store_true", help="answer Reject instead of Approve")
    parser.add_argument("--port", type=int, default=0, help="Airflow's port (default: a free one)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    settings = load_settings()
    os.environ.setdefault(MLFLOW_UI_ENV, MAKE_UP_MLFLOW)
    stack = AirflowStack(
        settings, settings.paths.airflow_demo, args.port or free_port(), None, os.environ[MLFLOW_UI_ENV]
    )
    router: Service | None = None
    conf = {
        "bundled_rows": args.rows,
        "max_jobs": args.max_jobs,
        "max_parallel": args.parallel,
        "deployment_strategy": args.strategy,
        "bake_seconds": 5,
        "smoke_requests": 300,
    }
    try:
        print(f"state lives in {settings.home}; starting the endpoint router and airflow …", flush=True)
        router = start_router(settings, settings.paths.logs / "router.log")
        stack.start()
        client = stack.wait_ready()
        print(f"[{time.monotonic() - started:6.1f}s] Airflow is up at {stack.url} (user admin)", flush=True)
        run_id, run = run_pipeline(client, conf, not args.reject, started)
        ok = run["state"] == "success"
        print(f"\nrun {run_id}: {run['state']}\n", flush=True)
        if ok:
            summary = client.xcom(DAG_ID, run_id, "summary")
            print(summary["text"] if isinstance(summary, dict) else summary)
        else:
            for ti in client.task_instances(DAG_ID, run_id):
                if ti["state"] == "failed":
                    log = client.task_log(DAG_ID, run_id, ti["task_id"], max(int(ti.get("try_number") or 1), 1))
                    print(f"--- {ti['task_id']} failed; the end of its log:\n{log[-3000:]}")
        wall = time.monotonic() - started
        print(f"\nstage timing (airflow {stack.url}, run {run_id}):")
        print(timing_table(stage_times(client, DAG_ID, run_id), wall))
        print(
            "\n`make up` serves the Airflow UI, the MLflow UI and the endpoint again; "
            f"this run's Airflow logs are in {stack.airflow_home}"
        )
        return 0 if ok else 1
    finally:
        stack.stop()
        if router is not None:
            router.stop()


if __name__ == "__main__":
    sys.exit(main())
