"""Monitoring schedules: every hour, each monitoring schedule that is due (its ScheduleExpression's
interval ends at this hour) runs its monitors over its window — data quality, drift, model quality,
bias, attribution over the endpoint's captured traffic — alerts on-call, and, when a monitor's
violation asks for it, emits the retrain asset event that schedules `training_pipeline`.

Schedules are files (`mlops monitor schedule …`, HOME/monitoring/schedules/); they are read when the
run starts, so adding one needs no change here. Wiring only: see mlops/airflow/monitoring_tasks.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task

from mlops.airflow import monitoring_tasks
from mlops.airflow.params import default_args


@dag(
    dag_id="monitoring_schedules",
    schedule=timedelta(hours=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["mlops", "monitoring"],
    doc_md=__doc__,
)
def monitoring_schedules() -> None:
    due = task(monitoring_tasks.due_schedules, task_id="due_schedules")()
    runs = task(monitoring_tasks.run_schedule, task_id="run_schedule").expand(name=due)
    task(
        monitoring_tasks.request_retraining,
        task_id="request_retraining",
        outlets=[Asset(name="mlops_retrain", uri=monitoring_tasks.RETRAIN_ASSET_URI)],
    )(runs)


monitoring_schedules()
