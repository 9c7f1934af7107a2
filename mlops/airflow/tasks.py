"""The callables of the DAGs' TaskFlow tasks. Each reads what Airflow gives it (params, upstream
results: the JSON form of the records of ``mlops.airflow.records``, read back with ``model_validate``),
calls one step of ``mlops.airflow.steps`` / ``deploy_steps`` and returns a JSON-able dict.
Errors a retry cannot fix fail the task at once with the platform's message (``final_errors``)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import get_current_context

from mlops.airflow import deploy_steps, report, steps
from mlops.airflow.context import pull
from mlops.airflow.failures import final_errors
from mlops.airflow.records import (
    ApprovalRequest,
    CandidateEvaluation,
    DatasetSplit,
    DataValidation,
    DeployedEndpoint,
    DeploymentTarget,
    IngestedDataset,
    ModelVersionSummary,
    TrainingResult,
)
from mlops.airflow.request import DeploymentRequest, TrainingRequest, check_deployment, parse_training_request
from mlops.settings import load_settings

TRAINING_TASKS = ("tune", "train")


def check_inputs() -> dict[str, Any]:
    """The first task: the whole form checked before anything runs."""
    params = dict(get_current_context()["params"])
    with final_errors():
        return parse_training_request(params, load_settings()).model_dump(mode="json")


def ingest(request: dict[str, Any]) -> dict[str, Any]:
    with final_errors():
        return steps.ingest_dataset(load_settings(), TrainingRequest.model_validate(request)).model_dump(mode="json")


def validate(dataset: dict[str, Any]) -> dict[str, Any]:
    with final_errors():
        return steps.validate_dataset(load_settings(), IngestedDataset.model_validate(dataset)).model_dump(mode="json")


def split(request: dict[str, Any], dataset: dict[str, Any]) -> dict[str, Any]:
    with final_errors():
        parts = steps.split_dataset(
            load_settings(), TrainingRequest.model_validate(request), IngestedDataset.model_validate(dataset)
        )
        return parts.model_dump(mode="json")


def choose_training(request: dict[str, Any]) -> str:
    return "tune" if TrainingRequest.model_validate(request).tuned else "train"


def register(request: dict[str, Any], dataset: dict[str, Any], split: dict[str, Any]) -> dict[str, Any]:
    trained = TrainingResult.model_validate(pull(get_current_context(), *TRAINING_TASKS))
    with final_errors():
        candidate = steps.register_candidate(
            load_settings(),
            TrainingRequest.model_validate(request),
            IngestedDataset.model_validate(dataset),
            DatasetSplit.model_validate(split),
            trained,
        )
    return candidate.model_dump(mode="json")


def evaluate(candidate: dict[str, Any], split: dict[str, Any], validation: dict[str, Any]) -> dict[str, Any]:
    trained = TrainingResult.model_validate(pull(get_current_context(), *TRAINING_TASKS))
    with final_errors():
        evaluation = steps.evaluate_candidate(
            load_settings(),
            ModelVersionSummary.model_validate(candidate),
            DatasetSplit.model_validate(split),
            DataValidation.model_validate(validation),
            trained,
        )
    return evaluation.model_dump(mode="json")


def policy_gate(request: dict[str, Any], evaluation: dict[str, Any], validation: dict[str, Any]) -> dict[str, Any]:
    """The promotion policy; on success also the approval's subject and body."""
    trained = pull(get_current_context(), *TRAINING_TASKS) or {}
    run, candidate = TrainingRequest.model_validate(request), CandidateEvaluation.model_validate(evaluation)
    with final_errors():
        gate = steps.policy_gate(load_settings(), run, candidate, DataValidation.model_validate(validation))
    shown = gate.model_dump(mode="json")
    return ApprovalRequest(
        **gate.model_dump(),
        group=candidate.group,
        version=candidate.version,
        deployment=run.deployment,
        subject=report.approval_subject(evaluation, shown),
        body=report.approval_body(request, trained, evaluation, shown),
    ).model_dump(mode="json")


def smoke_test(deployment: dict[str, Any], split: dict[str, Any]) -> dict[str, Any]:
    requests = int(get_current_context()["params"].get("smoke_requests", 300) or 0)
    with final_errors():
        test = DatasetSplit.model_validate(split).test
        endpoint = DeployedEndpoint.model_validate(deployment).endpoint
        return deploy_steps.smoke_test(load_settings(), endpoint, test, requests).model_dump(mode="json")


def summary(
    request: dict[str, Any],
    dataset: dict[str, Any],
    validation: dict[str, Any],
    split: dict[str, Any],
    evaluation: dict[str, Any],
) -> dict[str, Any]:
    """The run's outcome in one record (also printed to the task log): approved or rejected, what was
    deployed where, the smoke test."""
    context = get_current_context()
    ingested, parts = IngestedDataset.model_validate(dataset), DatasetSplit.model_validate(split)
    result = {
        "dataset": f"{ingested.dataset} version {ingested.version_number} ({ingested.rows} rows), "
        f"split {parts.split_id} {parts.rows}",
        "validation": validation,
        "trained": pull(context, *TRAINING_TASKS),
        "evaluation": evaluation,
        "decision": pull(context, "approval"),
        "deployment": pull(context, "deploy"),
        "smoke_test": pull(context, "smoke_test"),
        "request": request,
    }
    result["text"] = report.summary_text(result)
    print(result["text"], flush=True)
    return result


# ------------------------------------------------------------------------------------- deployment DAG


def check_deployment_inputs() -> dict[str, Any]:
    """The deployment DAG's first task: the form checked and the version resolved (it must be Approved)."""
    params = dict(get_current_context()["params"])
    settings = load_settings()
    with final_errors():
        deployment: DeploymentRequest = check_deployment(params)
        group = str(params.get("model_group") or "churn")
        version = deploy_steps.approved_version(settings, group, params.get("model_version"))
    return DeploymentTarget(group=group, version=version, deployment=deployment).model_dump(mode="json")


def deployment_smoke_test(deployment: dict[str, Any]) -> dict[str, Any]:
    """The deployment DAG's smoke test: rows of the test split the version was trained on."""
    from mlops.services.datasets import dataset_store
    from mlops.services.registry import held_out_test_file, open_registry

    context = get_current_context()
    requests = int(context["params"].get("smoke_requests", 300) or 0)
    settings = load_settings()
    deployed = DeployedEndpoint.model_validate(deployment)
    with final_errors():
        package = open_registry(settings).describe_model_package(deployed.group, deployed.version)
        test_csv = held_out_test_file(package, dataset_store(settings))
        return deploy_steps.smoke_test(settings, deployed.endpoint, str(test_csv), requests).model_dump(mode="json")
