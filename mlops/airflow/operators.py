"""Deferrable operators: start a job idempotently, wait for it without holding a worker slot.

Each operator starts its job under a name derived from the DAG run (a retry finds the job its first
try started, it never launches a second one), then defers to a trigger that polls the job's record
in the triggerer. When the trigger fires, the task resumes on a worker in ``execute_complete`` and
turns the record into the task's result (XCom). The Amazon provider's SageMaker operators are the
model: operator = parameters, trigger = asynchronous wait, the platform's services = the client.

A job that ends within ``sync_wait_seconds`` of its start is read without deferring, and a trigger
makes its first check only after ``FIRST_CHECK_DELAY`` seconds. Both keep a trigger from firing while
the scheduler has not yet processed the deferring worker's exit: Airflow 3.2.2 then fails the resumed
task with "state mismatch" (apache/airflow#71580, #72716), a race that a loaded machine makes likely.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from mlops.airflow import deploy_steps, steps
from mlops.airflow.context import suffix_of
from mlops.airflow.failures import final_errors
from mlops.airflow.records import DatasetSplit, DeploymentStarted, DeploymentTarget, IngestedDataset
from mlops.airflow.request import TrainingRequest, objective_for
from mlops.airflow.triggers import EndpointDeploymentTrigger, TrainingJobTrigger, TuningJobTrigger
from mlops.settings import load_settings

FIRST_CHECK_DELAY = 10.0


def wait_briefly(probe: Callable[[], Any], seconds: float, poll: float = 1.0) -> Any:
    """``probe()`` until it returns something truthy or ``seconds`` have passed (then None)."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(poll)


class _JobOperator(BaseOperator):
    """What both job operators take: the run's request, its dataset and split (XCom of earlier tasks)."""

    template_fields: Sequence[str] = ("request", "dataset", "split")
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        request: Any,
        dataset: Any,
        split: Any,
        poll_seconds: float = 2.0,
        sync_wait_seconds: float = 15.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.request = request
        self.dataset = dataset
        self.split = split
        self.poll_seconds = poll_seconds
        self.sync_wait_seconds = sync_wait_seconds

    def _inputs(self) -> tuple[TrainingRequest, dict[str, Any], dict[str, Any]]:
        """The run's request, dataset and split, read back from XCom as their records (JSON form for the steps)."""
        dataset = IngestedDataset.model_validate(self.dataset).model_dump(mode="json")
        split = DatasetSplit.model_validate(self.split).model_dump(mode="json")
        return TrainingRequest.model_validate(self.request), dataset, split


class TuningJobOperator(_JobOperator):
    """Run the pipeline's hyperparameter tuning job (its training jobs run in parallel on the training
    runtime, up to MaxParallelTrainingJobs) and return the best training job."""

    def execute(self, context: Any) -> Any:
        settings = load_settings()
        request, dataset, split = self._inputs()
        name = steps.job_name(request, suffix_of(context))
        with final_errors():
            tuning = steps.build_tuning_job(settings, request, dataset, split, name)
            job, started = steps.start_or_find_tuning_job(settings, tuning)
        config = job.HyperParameterTuningJobConfig
        self.log.info(
            "%s tuning job %s: %s search of %s, %s jobs, %s in parallel",
            "started" if started else "found the earlier try's",
            name,
            config.Strategy.value,
            config.HyperParameterTuningJobObjective.MetricName,
            config.ResourceLimits.MaxNumberOfTrainingJobs,
            config.ResourceLimits.MaxParallelTrainingJobs,
        )
        store = steps.tuning_store(settings)
        ended = wait_briefly(
            lambda: store.load(name).HyperParameterTuningJobStatus.terminal, 0 if started else self.sync_wait_seconds
        )
        if ended:
            return self.execute_complete(
                context, {"name": name, "status": store.load(name).HyperParameterTuningJobStatus}
            )
        self.defer(
            trigger=TuningJobTrigger(str(settings.home), name, self.poll_seconds, FIRST_CHECK_DELAY),
            method_name="execute_complete",
            timeout=self.execution_timeout,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if event.get("status") == "Error":
            raise AirflowFailException(f"tuning job {event.get('name')}: {event.get('reason')}")
        settings = load_settings()
        with final_errors():
            result = steps.tuning_result(steps.tuning_store(settings).load(event["name"]))
        objective = result.objective
        self.log.info(
            "best training job %s: %s=%s with %s",
            result.training_job,
            objective.metric if objective else None,
            objective.value if objective else None,
            result.hyperparameters,
        )
        return result.model_dump(mode="json")


class TrainingJobOperator(_JobOperator):
    """Run one training job (the pipeline's path when no tuning is asked for)."""

    def execute(self, context: Any) -> Any:
        settings = load_settings()
        request, dataset, split = self._inputs()
        name = steps.job_name(request, suffix_of(context))
        with final_errors():
            job_request = steps.build_training_job(settings, request, dataset, split, name)
            job, started = steps.start_or_find_training_job(settings, job_request)
        self.log.info("%s training job %s", "started" if started else "found the earlier try's", name)
        ended = wait_briefly(
            lambda: steps.describe_training_job(settings, name).TrainingJobStatus.terminal, self.sync_wait_seconds
        )
        if ended:
            return self.execute_complete(context, {"name": name, "status": "ended"})
        self.defer(
            trigger=TrainingJobTrigger(str(settings.home), name, job.RuntimeName, self.poll_seconds, FIRST_CHECK_DELAY),
            method_name="execute_complete",
            timeout=self.execution_timeout,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if event.get("status") == "Error":
            raise AirflowFailException(f"training job {event.get('name')}: {event.get('reason')}")
        settings = load_settings()
        request, dataset, _ = self._inputs()
        with final_errors():
            objective = objective_for(request, settings, dataset["problem"]).MetricName
            result = steps.training_result(steps.describe_training_job(settings, event["name"]), objective)
        return result.model_dump(mode="json")


class DeploymentOperator(BaseOperator):
    """Deploy an Approved model version to an endpoint with a strategy (all-at-once, canary, linear)
    and alarms, wait for the rollout to end, and point the environment's registry alias at the version.

    ``target``: {"group", "version", "deployment": DeploymentRequest as a dict}, usually the return
    value of the approval task (training pipeline) or of the deployment DAG's input check.
    """

    template_fields: Sequence[str] = ("target",)
    ui_color = "#d5f5e3"

    def __init__(
        self, *, target: Any, poll_seconds: float = 1.0, sync_wait_seconds: float = 30.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.poll_seconds = poll_seconds
        self.sync_wait_seconds = sync_wait_seconds

    def execute(self, context: Any) -> Any:
        settings = load_settings()
        target = DeploymentTarget.of(self.target)
        with final_errors():
            started = deploy_steps.start_deployment(
                settings, target.deployment, target.group, target.version, suffix_of(context)
            )
        self.log.info(
            "endpoint %s: %s, config %s (model %s)", started.endpoint, started.mode, started.config, started.model
        )

        def ended() -> tuple[str, str | None] | None:
            return deploy_steps.deployment_state(
                deploy_steps.describe_endpoint(settings, started.endpoint), started.config
            )

        state = wait_briefly(ended, self.sync_wait_seconds)
        carried = started.model_dump(mode="json")
        if state:
            return self.execute_complete(context, {"state": state[0], "reason": state[1], "started": carried})
        self.defer(
            trigger=EndpointDeploymentTrigger(
                deploy_steps.router_url(settings),
                started.endpoint,
                started.config,
                self.poll_seconds,
                started=carried,
                first_check_delay=FIRST_CHECK_DELAY,
            ),
            method_name="execute_complete",
            timeout=self.execution_timeout,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        settings = load_settings()
        started = DeploymentStarted.model_validate(event["started"])
        request = DeploymentTarget.of(self.target).deployment
        with final_errors():
            result = deploy_steps.finish_deployment(settings, request, started, event["state"], event.get("reason"))
        weights = ", ".join(f"{v.name}={v.weight or 0:g}" for v in result.variants)
        self.log.info("endpoint %s InService at %s; weights %s", result.endpoint, result.url, weights)
        return result.model_dump(mode="json")
