"""How long each stage of a run took and how much of it was Airflow's own scheduling, read from the
task instances over the REST API.

A task's overhead is the time from the end of the last of its upstream tasks to its own start: the
scheduler noticing, queueing, the executor starting a worker process and the task importing its
code. Deferred tasks count their whole wait (trigger included) as duration, not overhead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops.airflow.rest import AirflowClient


@dataclass(frozen=True)
class StageTime:
    task_id: str
    state: str
    start_offset: float | None  # seconds from the run's start
    duration: float | None
    overhead: float | None  # seconds from its upstream's end to its start
    tries: int


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def stage_times(client: AirflowClient, dag_id: str, run_id: str) -> list[StageTime]:
    run = client.dag_run(dag_id, run_id)
    tasks = client.request("GET", f"/api/v2/dags/{dag_id}/tasks").get("tasks", [])
    upstream: dict[str, list[str]] = {t["task_id"]: [] for t in tasks}
    for t in tasks:
        for child in t.get("downstream_task_ids") or []:
            upstream.setdefault(child, []).append(t["task_id"])
    instances = {ti["task_id"]: ti for ti in client.task_instances(dag_id, run_id)}
    run_start = _when(run.get("start_date")) or _when(run.get("queued_at"))
    rows = []
    for task_id, ti in sorted(instances.items(), key=lambda kv: kv[1].get("start_date") or "9999"):
        start, end = _when(ti.get("start_date")), _when(ti.get("end_date"))
        ended = [_when(instances[u].get("end_date")) for u in upstream.get(task_id, []) if u in instances]
        ready = max((e for e in ended if e is not None), default=run_start)
        rows.append(
            StageTime(
                task_id=task_id,
                state=str(ti.get("state")),
                start_offset=(start - run_start).total_seconds() if start and run_start else None,
                duration=(end - start).total_seconds() if start and end else None,
                overhead=(start - ready).total_seconds() if start and ready else None,
                tries=int(ti.get("try_number") or 0),
            )
        )
    return rows


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:7.1f}"


def timing_table(rows: list[StageTime], wall_seconds: float | None = None) -> str:
    lines = [f"{'task':<16} {'state':<10} {'start s':>7} {'took s':>7} {'sched s':>7}", "-" * 52]
    for r in rows:
        lines.append(
            f"{r.task_id:<16} {r.state:<10} {_seconds(r.start_offset)} {_seconds(r.duration)} {_seconds(r.overhead)}"
        )
    ran = [r for r in rows if r.overhead is not None and r.state in ("success", "failed")]
    if ran:
        total = sum(r.overhead or 0 for r in ran)
        busy = sum(r.duration or 0 for r in ran)
        lines.append("-" * 52)
        lines.append(
            f"scheduling overhead: {total:.1f}s over {len(ran)} tasks ({total / len(ran):.1f}s per task); "
            f"tasks themselves: {busy:.1f}s"
        )
    if wall_seconds is not None:
        lines.append(f"wall time: {wall_seconds:.1f}s")
    return "\n".join(lines)


def as_dicts(rows: list[StageTime]) -> list[dict[str, Any]]:
    return [r.__dict__ for r in rows]
