"""Training pipeline: ingest → validate (great-expectations gate) → split → tune (or train once) →
register (PendingManualApproval) → evaluate on the test split → promotion policy gate → human approval
(Required Actions) → deploy to the endpoint (canary by default, alarms roll back) → smoke test →
summary.

Runs when monitoring asks for retraining (the `mlops_retrain` asset), or trigger it from the form
(Trigger ▸ with params): the dataset source, the algorithm, the tuning strategy and budget, the
deployment strategy. Waiting on tuning, training and the rollout holds no
worker slot (deferred to triggers); training is bounded by the `mlops_training` pool. Approve or
reject under Required Actions: the decision and your name go to the model registry.

Wiring only: every step is a call into `mlops.airflow` (see mlops/airflow/README.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task

from mlops.airflow import tasks
from mlops.airflow.approval import ModelApprovalOperator
from mlops.airflow.monitoring_tasks import RETRAIN_ASSET_URI
from mlops.airflow.operators import DeploymentOperator, TrainingJobOperator, TuningJobOperator
from mlops.airflow.params import default_args, training_params
from mlops.airflow.request import TRAINING_POOL, TRAINING_POOL_SLOTS


@dag(
    dag_id="training_pipeline",
    schedule=[Asset(name="mlops_retrain", uri=RETRAIN_ASSET_URI)],  # and from the trigger form
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=4,
    params=training_params(),
    default_args=default_args(),
    tags=["mlops", "training"],
    doc_md=__doc__,
)
def training_pipeline() -> None:
    request = task(tasks.check_inputs, task_id="check_inputs")()
    dataset = task(tasks.ingest, task_id="ingest")(request)
    validation = task(tasks.validate, task_id="validate")(dataset)
    parts = task(tasks.split, task_id="split")(request, dataset)
    validation >> parts
    branch = task.branch(tasks.choose_training, task_id="choose_training")(request)
    tune = TuningJobOperator(
        task_id="tune",
        request=request,
        dataset=dataset,
        split=parts,
        pool=TRAINING_POOL,
        pool_slots=TRAINING_POOL_SLOTS,
        execution_timeout=timedelta(hours=4),
    )
    train = TrainingJobOperator(
        task_id="train",
        request=request,
        dataset=dataset,
        split=parts,
        pool=TRAINING_POOL,
        execution_timeout=timedelta(hours=4),
    )
    parts >> branch >> [tune, train]
    candidate = task(tasks.register, task_id="register", trigger_rule="none_failed_min_one_success")(
        request, dataset, parts
    )
    [tune, train] >> candidate
    evaluation = task(tasks.evaluate, task_id="evaluate")(candidate, parts, validation)
    gate = task(tasks.policy_gate, task_id="policy_gate")(request, evaluation, validation)
    approval = ModelApprovalOperator(task_id="approval", gate_task_id="policy_gate")
    gate >> approval
    deployed = DeploymentOperator(task_id="deploy", target=approval.output, execution_timeout=timedelta(hours=2))
    smoke = task(tasks.smoke_test, task_id="smoke_test")(deployed.output, parts)
    done = task(tasks.summary, task_id="summary", trigger_rule="none_failed")(
        request, dataset, validation, parts, evaluation
    )
    smoke >> done


training_pipeline()
