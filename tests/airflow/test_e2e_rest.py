"""End to end on a real ``airflow standalone`` (one per session, see conftest ``stack``): runs of
``training_pipeline`` triggered over the REST API; the test waits for the approval task, answers it over
the REST API as the admin user, waits for the run to end, then invokes the deployed endpoint — or,
after a rejection, checks that nothing was deployed and the version is Rejected. Also: a model failing
the promotion policy, and a bad trigger form, each with its failure alert on the webhook.

The runs use a test policy environment ``e2e`` (a policy file written by the fixture) so that whether a
run reaches the human gate does not depend on how one trained model compares with another.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import E2E_DAG as DAG
from tests.airflow.conftest import Stack

pytestmark = pytest.mark.integration


def _registry(stack: Stack) -> Any:
    from mlops.registry.mlflow_registry import MlflowModelRegistry

    return MlflowModelRegistry(stack.settings.mlflow_uri)


def _states(stack: Stack, run_id: str) -> dict[str, str | None]:
    return {t["task_id"]: t["state"] for t in stack.client.task_instances(DAG, run_id)}


def test_approve_over_rest_then_invoke_the_endpoint(stack: Stack) -> None:
    client, run_id = stack.client, stack.runs["approve"]
    pending = client.wait_for_approval(DAG, run_id, timeout=900)
    assert pending["task_instance"]["task_id"] == "approval"
    assert pending["task_instance"]["state"] == "deferred"
    assert pending["options"] == ["Approve", "Reject"]
    assert pending["subject"].startswith("Deploy churn version ")
    body = pending["body"]
    assert "| auc |" in body and "Promotion policy (e2e" in body and "Hyperparameters" in body

    answer = client.respond(DAG, run_id, "approval", "Approve", {"comment": "e2e approves"})
    assert answer["responded_by"]["name"] == "admin"
    run = client.wait_run(DAG, run_id, timeout=600)
    states = _states(stack, run_id)
    assert run["state"] == "success", states
    assert states["deploy"] == "success" and states["smoke_test"] == "success"

    decision = client.xcom(DAG, run_id, "approval")
    package = _registry(stack).describe_model_package("churn", decision["version"])
    assert package.ModelApprovalStatus.value == "Approved"
    assert package.ApprovedBy == "admin" and package.ApprovalDescription == "e2e approves"
    assert "e2e" in package.Aliases

    row = Path(client.xcom(DAG, run_id, "split")["test"]).read_text().splitlines()[0].split(",", 1)[1]
    url = f"http://{stack.settings.router_host}:{stack.settings.router_port}/endpoints/e2e-approved/invocations"
    headers = {"Content-Type": "text/csv", "Accept": "application/json"}
    request = urllib.request.Request(url, data=row.encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert response.headers["x-Amzn-Invoked-Production-Variant"] == f"v{decision['version']}"
        prediction = json.loads(response.read())["predictions"][0]
    score = prediction["score"] if isinstance(prediction, dict) else prediction
    assert 0.0 <= score <= 1.0


def test_reject_over_rest_deploys_nothing(stack: Stack) -> None:
    from mlops.hosting.store import HostingStore

    client, run_id = stack.client, stack.runs["reject"]
    client.wait_for_approval(DAG, run_id, timeout=900)
    client.respond(DAG, run_id, "approval", "Reject", {"comment": "not this one"})
    run = client.wait_run(DAG, run_id, timeout=600)
    states = _states(stack, run_id)
    assert run["state"] == "success", states
    assert states["approval"] == "success"
    assert states["deploy"] == "skipped" and states["smoke_test"] == "skipped"
    assert states["summary"] == "success"

    candidate = client.xcom(DAG, run_id, "register")
    package = _registry(stack).describe_model_package("churn", candidate["version"])
    assert package.ModelApprovalStatus.value == "Rejected"
    assert package.ApprovedBy == "admin" and package.ApprovalDescription == "not this one"
    assert not package.Aliases
    store = HostingStore(stack.settings.home)
    assert all(e.EndpointName != "e2e-rejected" for e in store.endpoints())
    assert all(not c.EndpointConfigName.startswith("e2e-rejected") for c in store.endpoint_configs())


def test_a_model_failing_the_policy_is_rejected_with_the_reasons(stack: Stack) -> None:
    client, run_id = stack.client, stack.runs["policy"]
    run = client.wait_run(DAG, run_id, timeout=900)
    states = _states(stack, run_id)
    assert run["state"] == "failed"
    assert states["evaluate"] == "success" and states["policy_gate"] == "failed"
    assert states["approval"] == "upstream_failed" and states["deploy"] == "upstream_failed"
    assert not client.hitl_details(DAG, run_id), "a person was asked to approve a model that failed the policy"
    candidate = client.xcom(DAG, run_id, "register")
    package = _registry(stack).describe_model_package("churn", candidate["version"])
    assert package.ModelApprovalStatus.value == "Rejected" and package.ApprovedBy == "promotion-policy"
    assert "auc" in (package.ApprovalDescription or "") and ">= 0.999" in (package.ApprovalDescription or "")
    alert = stack.webhook.wait(lambda a: a["run_id"] == run_id, timeout=120)
    assert alert["task_id"] == "policy_gate" and "Rejected" in alert["error"]


def test_bad_input_fails_the_first_task_and_alerts(stack: Stack) -> None:
    client, run_id = stack.client, stack.runs["bad"]
    run = client.wait_run(DAG, run_id, timeout=600)
    states = _states(stack, run_id)
    assert run["state"] == "failed"
    assert states["check_inputs"] == "failed"
    assert all(state in (None, "upstream_failed") for task, state in states.items() if task != "check_inputs")
    alert = stack.webhook.wait(lambda a: a["run_id"] == run_id, timeout=120)
    assert alert["task_id"] == "check_inputs"
    assert alert["error"].startswith("algorithm: 'random-forest' is not an algorithm of the catalog"), alert


def test_scheduling_overhead_is_measured_from_task_instances(stack: Stack) -> None:
    from mlops.airflow.timing import stage_times, timing_table

    run_id = stack.runs["approve"]
    stack.client.wait_run(DAG, run_id, timeout=900)
    rows = stage_times(stack.client, DAG, run_id)
    ran = {r.task_id: r for r in rows if r.state == "success"}
    assert {"ingest", "train", "deploy"} <= set(ran)
    assert all(r.overhead is not None and r.overhead >= -1.0 for r in ran.values())
    print(timing_table(rows))
