"""What people read: the approval's subject and Markdown body (Airflow shows it under Required
Actions), and the run's closing summary. Pure formatting of the steps' results; no I/O."""

from __future__ import annotations

import os
from typing import Any

from mlops.promotion.policy import LOWER_IS_BETTER

MLFLOW_UI_ENV = "MLOPS_MLFLOW_UI_URL"


def mlflow_ui() -> str | None:
    """The MLflow UI's address, when one runs (``make up`` sets it for Airflow's processes)."""
    url = os.environ.get(MLFLOW_UI_ENV, "").strip().rstrip("/")
    return url or None


def _links(evaluation: dict[str, Any]) -> list[str]:
    ui = mlflow_ui()
    lines = []
    if ui and evaluation.get("run_id") and evaluation.get("experiment_id"):
        lines.append(
            f"- [tracking run in MLflow]({ui}/#/experiments/{evaluation['experiment_id']}/runs/{evaluation['run_id']}) "
            "(metrics, parameters, every report below as an artifact)"
        )
        lines.append(
            f"- [model version in the registry]({ui}/#/models/{evaluation['group']}/versions/{evaluation['version']})"
        )
    for label, uri in sorted((evaluation.get("reports") or {}).items()):
        lines.append(f"- {label}: {uri}")
    return lines


def _delta(name: str, candidate: float, current: float | None) -> str:
    if current is None:
        return "-"
    change = candidate - current
    better = change < 0 if name in LOWER_IS_BETTER else change > 0
    mark = "better" if better else "worse" if change else "same"
    return f"{change:+.4f} ({mark})"


def _matrix_table(matrix: list[list[int]]) -> list[str]:
    """Rows: actual class; columns: predicted class (Airflow renders inline code as blocks: tables read better)."""
    classes = range(len(matrix))
    return [
        "| actual \\ predicted | " + " | ".join(str(c) for c in classes) + " |",
        "|---|" + "---|" * len(matrix),
        *(f"| {c} | " + " | ".join(str(n) for n in row) + " |" for c, row in zip(classes, matrix, strict=False)),
    ]


def _hyperparameter_table(hyperparameters: dict[str, Any]) -> list[str]:
    if not hyperparameters:
        return ["(the algorithm's defaults)"]
    return ["| name | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in sorted(hyperparameters.items()))]


def approval_subject(evaluation: dict[str, Any], gate: dict[str, Any]) -> str:
    return f"Deploy {evaluation['group']} version {evaluation['version']} to {gate['environment']}?"


def approval_body(
    request: dict[str, Any], trained: dict[str, Any], evaluation: dict[str, Any], gate: dict[str, Any]
) -> str:
    current = gate.get("current")
    current_metrics = (current or {}).get("metrics") or {}
    where = (
        f"version {current['version']} (approved by {current.get('approved_by') or 'unknown'})"
        if current
        else "none yet"
    )
    lines = [
        f"**{evaluation['group']} version {evaluation['version']}** — {request['algorithm']} trained by "
        f"training job {evaluation['training_job']}"
        + (f", the best of tuning job {trained['tuning_job']}" if trained.get("tuning_job") else ""),
        "",
        f"Model now in **{gate['environment']}**: {where}.",
        "",
        f"### Evaluation on the held-out test split ({evaluation.get('rows')} rows)",
        "",
        f"| metric | candidate | {gate['environment']} now | change |",
        "|---|---|---|---|",
    ]
    for name, value in sorted(evaluation["metrics"].items()):
        now = current_metrics.get(name)
        shown = "-" if now is None else f"{now:.4f}"
        lines.append(f"| {name} | {value:.4f} | {shown} | {_delta(name, value, now)} |")
    matrix = evaluation.get("confusion_matrix")
    if matrix:
        lines += ["", "Confusion matrix:", "", *_matrix_table(matrix)]
    lines += [
        "",
        f"### Promotion policy ({gate['environment']}, {os.path.basename(gate['policy_file'])}): passed",
        "",
        gate["table"],
        "",
        "### Hyperparameters",
        "",
        *_hyperparameter_table(trained.get("hyperparameters") or {}),
    ]
    objective = trained.get("objective")
    if objective:
        lines += ["", f"Tuning objective {objective['metric']} = {objective['value']:.4f} on the validation split."]
    lines += ["", "### Reports", "", *_links(evaluation)]
    deployment = request["deployment"]
    lines += [
        "",
        f"Approving deploys it to endpoint **{deployment['endpoint_name']}** ({deployment['strategy']}"
        + (f", alarms {', '.join(deployment['alarms'])}" if deployment["alarms"] else "")
        + "). Rejecting marks the version Rejected; nothing is deployed.",
    ]
    return "\n".join(lines)


def summary_text(summary: dict[str, Any]) -> str:
    """The printed summary of a training pipeline run (the demo prints it at the end)."""
    trained = summary.get("trained") or {}
    evaluation = summary.get("evaluation") or {}
    decision = summary.get("decision") or {}
    deployed = summary.get("deployment")
    smoke = summary.get("smoke_test")
    lines = [f"dataset:          {summary.get('dataset')}"]
    if trained.get("tuning_job"):
        jobs = trained.get("jobs") or {}
        lines.append(
            f"tuning:           {trained['tuning_job']} ({trained.get('strategy')}, "
            f"{jobs.get('completed', 0)} completed, {jobs.get('stopped', 0)} stopped, {jobs.get('failed', 0)} failed)"
        )
    lines.append(f"best job:         {trained.get('training_job')}")
    hyper = " ".join(f"{k}={v}" for k, v in sorted((trained.get("hyperparameters") or {}).items()))
    lines.append(f"hyperparameters:  {hyper}")
    objective = trained.get("objective")
    if objective:
        lines.append(f"objective:        {objective['metric']} = {objective['value']:.4f}")
    metrics = " ".join(f"{k}={v:.4f}" for k, v in sorted((evaluation.get("metrics") or {}).items()))
    lines.append(f"test metrics:     {metrics}")
    lines.append(
        f"model version:    {evaluation.get('group')} version {evaluation.get('version')}: "
        f"{decision.get('status', 'PendingManualApproval')}"
        + (f" by {decision['approved_by']}" if decision.get("approved_by") else "")
    )
    if deployed:
        lines.append(f"endpoint:         {deployed['endpoint']} ({deployed['status']}) {deployed['url']}")
        lines.append(f"deployment:       {deployed['mode']}")
        if deployed.get("deployment"):
            d = deployed["deployment"]
            lines.append(f"                  {d['from']} -> {d['to']}: {d['status']}; steps {', '.join(d['steps'])}")
        weights = ", ".join(
            f"{v['name']}={v['weight']:g} ({v['model']}, {v['instances']} instance(s))" for v in deployed["variants"]
        )
        lines.append(f"variant weights:  {weights}")
    else:
        lines.append("endpoint:         nothing deployed")
    if smoke:
        lines.append(
            f"smoke test:       {smoke['ok']}/{smoke['requests']} OK, p50 {smoke['p50_ms']} ms, "
            f"p99 {smoke['p99_ms']} ms, variants {smoke['variants']}"
        )
    ui = mlflow_ui()
    if ui and evaluation.get("run_id"):
        lines.append(
            f"reports:          {ui}/#/experiments/{evaluation.get('experiment_id')}/runs/{evaluation['run_id']}"
        )
    for label, uri in sorted((evaluation.get("reports") or {}).items()):
        lines.append(f"  {label + ':':<26}{uri}")
    return "\n".join(lines)
