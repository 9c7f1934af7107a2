"""The monitoring DAG's task callables: which monitoring schedules are due in this run's data interval,
run one schedule over its window (``mlops.monitoring.schedule.window_for``), and ask for retraining
(an asset event that schedules ``training_pipeline``) when a monitor's violation calls for it.

Schedules are files read when the task runs, not when the DAG file is parsed: one hourly DAG maps over
the schedules that are due, so adding a schedule needs no DAG change and parsing does no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowSkipException

from mlops.airflow.failures import final_errors
from mlops.airflow.records import RetrainRequest, ScheduleRunSummary
from mlops.settings import load_settings

RETRAIN_ASSET_URI = "mlops://retrain/training_pipeline"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _interval_end(context: Any) -> datetime:
    end: datetime = context.get("data_interval_end") or context["dag_run"].run_after
    return end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def is_due(interval: timedelta, end: datetime, manual: bool) -> bool:
    """A schedule of ``interval`` runs when the hour ``end`` is a multiple of it (manual runs: always)."""
    if manual or interval <= timedelta(hours=1):
        return True
    return (end - EPOCH) % interval == timedelta(0)


def due_schedules() -> list[str]:
    from mlops.services.monitoring import list_schedules
    from mlops.services.monitoring_wiring import monitoring_from_settings

    context = get_current_context()
    end = _interval_end(context)
    manual = str(context["dag_run"].run_type).endswith("manual")
    with final_errors():
        schedules = list_schedules(monitoring_from_settings(load_settings()))
    due = [s.MonitoringScheduleName for s in schedules if is_due(s.ScheduleConfig.interval, end, manual)]
    print(f"{len(due)} of {len(schedules)} monitoring schedule(s) due at {end:%Y-%m-%d %H:%M} UTC: {due}")
    return due


def run_schedule(name: str) -> dict[str, Any]:
    from mlops.monitoring.schedule import window_for
    from mlops.services.monitoring import get_schedule
    from mlops.services.monitoring import run_schedule as run
    from mlops.services.monitoring_wiring import monitoring_from_settings

    context = get_current_context()
    monitoring = monitoring_from_settings(load_settings())
    end = _interval_end(context)
    with final_errors():
        schedule = get_schedule(monitoring, name)
        window = window_for(
            end - schedule.ScheduleConfig.interval, end, timedelta(seconds=schedule.WindowOffsetSeconds)
        )
        result = run(monitoring, schedule, window)
    retrain = result.Retrain
    return ScheduleRunSummary(
        schedule=name,
        endpoint=result.EndpointName,
        run=result.MonitoringRunName,
        window=(window.start.isoformat(), window.end.isoformat()),
        violations=len(result.violations),
        report=result.ReportUri,
        alerts=len(result.Alerts),
        retrain=bool(retrain and retrain.Retrain),
        retrain_reason=retrain.Reason if retrain else None,
    ).model_dump(mode="json")


def request_retraining(runs: Any) -> dict[str, Any]:
    """Succeeds (emitting the retrain asset event) only when a run asked for retraining."""
    asking = [s for s in (ScheduleRunSummary.model_validate(r) for r in (runs or []) if r) if s.retrain]
    if not asking:
        raise AirflowSkipException("no monitor asked for retraining")
    return RetrainRequest(
        endpoints=sorted({s.endpoint for s in asking}), reasons=[s.retrain_reason for s in asking]
    ).model_dump(mode="json")
