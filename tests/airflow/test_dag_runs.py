"""``dag.test()`` of each DAG on the embedded default (SQLite metadata database, local runtimes, a real
endpoint router), in this process: Airflow's own loop runs every task and every trigger inline.

The human gate: ``dag.test()`` runs triggers inline, but its in-process supervisor (Airflow 3.2.2) does
not serve the HITL trigger's request for the answer (``GetHITLDetailResponse``: "Unhandled request").
So for the HITL trigger only, ``Answering`` stands in for the trigger and the person: it finds the
task's pending HITLDetail row in the metadata database, writes the answer into it exactly as the REST
API's ``PATCH …/hitlDetails`` does (chosen option, responder, time, params), and hands the task the
event the HITL trigger would have fired. The approval operator's own ``execute`` (writing the subject
and body) and ``execute_complete`` (recording the decision in the registry, skipping the deployment on
Reject) run for real. The real trigger is covered by the end-to-end tests on ``airflow standalone``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import Webhook

pytestmark = pytest.mark.integration

SMALL = {
    "bundled_rows": 3000,
    "tuning_strategy": "Random",
    "max_jobs": 2,
    "max_parallel": 2,
    "deployment_strategy": "all-at-once",
    "bake_seconds": 0,
    "smoke_requests": 40,
    "endpoint_name": "dagtest",
}


class Answering:
    """Answers the run's approval with ``option`` as ``user`` (see the module's docstring)."""

    def __init__(self, option: str, user: str, comment: str, timeout: float = 120.0) -> None:
        self.option, self.user, self.comment, self.timeout = option, user, comment, timeout
        self.asked: list[dict[str, Any]] = []

    def __enter__(self) -> Answering:
        import airflow.sdk.definitions.dag as dag_module

        self.module = dag_module
        self.original = dag_module._run_inline_trigger
        dag_module._run_inline_trigger = self._run_inline_trigger
        return self

    def __exit__(self, *exc: object) -> None:
        self.module._run_inline_trigger = self.original

    def _run_inline_trigger(self, trigger: Any, task_sdk_ti: Any) -> Any:
        from airflow.models.hitl import HITLDetail
        from airflow.providers.standard.triggers.hitl import HITLTrigger
        from airflow.sdk.timezone import utcnow
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session

        if not isinstance(trigger, HITLTrigger):
            return self.original(trigger, task_sdk_ti)
        deadline = time.monotonic() + self.timeout
        while True:
            with create_session() as session:
                detail = session.get(HITLDetail, trigger.ti_id)
                if detail is not None:
                    self.asked.append({"subject": detail.subject, "body": detail.body, "options": detail.options})
                    detail.responded_by = {"id": self.user, "name": self.user}
                    detail.responded_at = utcnow()
                    detail.chosen_options = [self.option]
                    detail.params_input = {"comment": self.comment}
                    return TriggerEvent(
                        {
                            "chosen_options": [self.option],
                            "params_input": {"comment": self.comment},
                            "responded_at": detail.responded_at,
                            "responded_by_user": {"id": self.user, "name": self.user},
                            "timedout": False,
                        }
                    )
            if time.monotonic() > deadline:
                raise AssertionError("the approval task wrote no HITL detail")
            time.sleep(0.5)


def _dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    from tests.airflow.conftest import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / f"{dag_id}.py"), include_examples=False)
    assert not bag.import_errors
    return bag.get_dag(dag_id)


def _states(run: Any) -> dict[str, str | None]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {
            ti.task_id: None if ti.state is None else str(getattr(ti.state, "value", ti.state))
            for ti in run.get_task_instances(session=session)
        }


def _test(dag_id: str, conf: dict[str, Any], answering: Answering | None = None) -> tuple[Any, dict[str, Any]]:
    dag = _dag(dag_id)
    if answering is None:
        run = dag.test(run_conf=conf)
    else:
        with answering:
            run = dag.test(run_conf=conf)
    return run, _states(run)


def _settings(home: Path) -> Any:
    from mlops.settings import load_settings

    settings = load_settings()
    assert settings.home == home.resolve()
    return settings


@pytest.mark.parametrize(
    ("conf", "field"),
    [
        ({"algorithm": "random-forest"}, "algorithm"),
        ({"split_train": 0.9, "split_validation": 0.2, "split_test": 0.1}, "split_train/split_validation/split_test"),
        ({"deployment_strategy": "canary", "canary_size": "1"}, "canary_size"),
        ({"deployment_strategy": "blue-green-magic"}, "deployment_strategy"),
    ],
    ids=["unknown-algorithm", "impossible-split", "canary-larger-than-the-fleet", "unknown-strategy"],
)
def test_bad_input_fails_the_first_task_naming_the_field(
    conf: dict[str, Any],
    field: str,
    airflow_db: Path,
    mlops_home: Path,
    webhook: Webhook,
    capfd: pytest.CaptureFixture[str],
) -> None:
    run, states = _test("training_pipeline", conf)
    assert run.state == "failed"
    assert states["check_inputs"] == "failed"
    assert all(state in (None, "upstream_failed") for task, state in states.items() if task != "check_inputs"), states
    assert f"AirflowFailException: {field}: " in capfd.readouterr().out
    webhook.wait(lambda a: a["run_id"] == run.run_id and a["task_id"] == "check_inputs")
    assert not (mlops_home / "tuning-jobs").exists() and not (mlops_home / "jobs").exists(), "something was trained"


@pytest.fixture(scope="module")
def approved_run(airflow_db: Path, mlops_home: Path, webhook: Webhook) -> tuple[Any, dict[str, Any]]:
    answering = Answering("Approve", "tester", "fine by me")
    run, states = _test("training_pipeline", SMALL, answering)
    assert answering.asked, "the approval never asked"
    asked = answering.asked[0]
    assert asked["options"] == ["Approve", "Reject"] and asked["subject"].startswith("Deploy churn version ")
    assert "| auc |" in asked["body"] and "Promotion policy (staging" in asked["body"]
    return run, states


def test_training_pipeline_runs_end_to_end_with_the_answer_fed(approved_run: Any, mlops_home: Path) -> None:
    from mlops.airflow.deploy_steps import describe_endpoint
    from mlops.services.registry import open_registry

    run, states = approved_run
    assert run.state == "success", states
    assert states["train"] == "skipped" and states["tune"] == "success"
    for task in ("check_inputs", "ingest", "validate", "split", "register", "evaluate", "policy_gate"):
        assert states[task] == "success", (task, states)
    assert states["approval"] == "success" and states["deploy"] == "success" and states["smoke_test"] == "success"
    assert states["summary"] == "success"
    settings = _settings(mlops_home)
    registry = open_registry(settings)
    package = registry.describe_by_alias("churn", "staging")
    assert package.ModelApprovalStatus.value == "Approved"
    assert package.ApprovedBy == "tester" and package.ApprovalDescription == "fine by me"
    assert package.ModelMetrics is not None and package.ModelMetrics.Metrics["auc"] > 0.6
    endpoint = describe_endpoint(settings, "dagtest")
    assert endpoint.EndpointStatus.value == "InService"
    assert [v.ModelName for v in endpoint.ProductionVariants] == [
        f"churn-v{package.ModelPackageVersion}-" + endpoint.EndpointConfigName.rsplit("-", 1)[1]
    ]


def test_a_retry_finds_the_jobs_of_its_first_try(approved_run: Any, mlops_home: Path) -> None:
    """Names derive from the run: starting the run's tuning job again finds the first one."""
    from mlops.airflow import steps
    from mlops.airflow.request import TrainingRequest, parse_training_request

    run, _ = approved_run
    settings = _settings(mlops_home)
    request: TrainingRequest = parse_training_request(SMALL, settings)
    name = steps.job_name(request, steps.run_suffix("training_pipeline", run.run_id))
    job = steps.tuning_store(settings).load(name)
    found, started = steps.start_or_find_tuning_job(settings, _tuning_request(settings, request, name))
    assert not started and found.HyperParameterTuningJobArn == job.HyperParameterTuningJobArn
    assert len(list((mlops_home / "tuning-jobs").iterdir())) == 1


def _tuning_request(settings: Any, request: Any, name: str) -> Any:
    from mlops.airflow import steps
    from mlops.services.datasets import dataset_store

    store = dataset_store(settings)
    version = store.resolve("churn")
    split = store.splits(version)[-1]
    dataset = {"problem": version.Encoding.ProblemType.value, "classes": len(version.Encoding.Classes)}
    parts = {p.Name: p.Files[0].Uri for p in split.Parts}
    return steps.build_tuning_job(settings, request, dataset, parts, name)


def test_deployment_dag_deploys_an_approved_version_with_a_canary(approved_run: Any, mlops_home: Path) -> None:
    from mlops.airflow.deploy_steps import describe_endpoint
    from mlops.services.registry import open_registry

    settings = _settings(mlops_home)
    version = open_registry(settings).describe_by_alias("churn", "staging").ModelPackageVersion
    conf = {
        "model_group": "churn",
        "model_version": version,
        "environment": "prod",
        "endpoint_name": "dagtest",
        "deployment_strategy": "canary",
        "canary_size": "50%",
        "bake_seconds": 1,
        "smoke_requests": 20,
    }
    started = time.monotonic()
    run, states = _test("deployment", conf)
    assert run.state == "success", states
    assert states == {"check_inputs": "success", "deploy": "success", "smoke_test": "success"}
    endpoint = describe_endpoint(settings, "dagtest")
    assert endpoint.Deployment is not None and endpoint.Deployment.Status.value == "Completed"
    assert [s.NewFleetTrafficPercent for s in endpoint.Deployment.Steps] == [50.0, 100.0]
    assert open_registry(settings).describe_by_alias("churn", "prod").ModelPackageVersion == version
    assert time.monotonic() - started < 300


def test_deployment_dag_refuses_a_version_it_cannot_deploy(
    approved_run: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    run, states = _test("deployment", {"model_version": 999, "endpoint_name": "dagtest"})
    assert run.state == "failed" and states["check_inputs"] == "failed"
    assert states["deploy"] == "upstream_failed"
    assert "AirflowFailException: model_group/model_version: " in capfd.readouterr().out


def test_monitoring_dag_with_no_schedule_due_runs_nothing(airflow_db: Path, mlops_home: Path) -> None:
    run, states = _test("monitoring_schedules", {})
    assert run.state == "success", states
    assert states["due_schedules"] == "success"
    assert states.get("request_retraining") == "skipped"


def test_a_schedule_is_due_when_the_hour_is_a_multiple_of_its_interval() -> None:
    from datetime import UTC, datetime, timedelta

    from mlops.airflow.monitoring_tasks import is_due

    midnight = datetime(2026, 11, 22, tzinfo=UTC)
    assert is_due(timedelta(days=1), midnight, manual=False)
    assert not is_due(timedelta(days=1), midnight + timedelta(hours=5), manual=False)
    assert is_due(timedelta(hours=1), midnight + timedelta(hours=5), manual=False)
    assert is_due(timedelta(days=1), midnight + timedelta(hours=5), manual=True)
