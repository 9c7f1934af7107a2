"""Deployment: put an Approved model version on an environment's endpoint with a strategy
(all-at-once, canary, linear) and rollback alarms, then smoke-test it.

Trigger it from the form, or from another DAG with
`TriggerDagRunOperator(trigger_dag_id="deployment", conf={"model_group": …, "model_version": …})`.
Only an Approved version is deployed; the environment's registry alias then names it.

Wiring only: every step is a call into `mlops.airflow` (see mlops/airflow/README.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from mlops.airflow import tasks
from mlops.airflow.operators import DeploymentOperator
from mlops.airflow.params import default_args, deployment_params


@dag(
    dag_id="deployment",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    params=deployment_params(with_model=True, environment="prod", endpoint="churn-prod"),
    default_args=default_args(),
    tags=["mlops", "deployment"],
    doc_md=__doc__,
)
def deployment() -> None:
    target = task(tasks.check_deployment_inputs, task_id="check_inputs")()
    deployed = DeploymentOperator(task_id="deploy", target=target, execution_timeout=timedelta(hours=2))
    task(tasks.deployment_smoke_test, task_id="smoke_test")(deployed.output)


deployment()
