"""What the training pipeline's tasks hand each other, as typed records (no Airflow import).

A task returns ``record.model_dump(mode="json")`` (plain JSON, which every XCom backend stores and the UI
shows) and the next task reads it back with ``Record.model_validate``: a field renamed or missing fails the
reading task at once, naming the field, instead of a ``KeyError`` deep in a step. The run's request
(``request.TrainingRequest``) travels the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field

from mlops.airflow.request import DeploymentRequest
from mlops.core.datasets import ProblemType
from mlops.core.records import Record


class IngestedDataset(Record):
    """The dataset version the run ingested (``ingest``)."""

    dataset: str
    version: str
    version_number: int
    rows: int
    created: bool
    source: str
    label: str
    problem: ProblemType
    classes: int
    features: int


class DataValidation(Record):
    """The great-expectations gate's result (``validate``)."""

    validation_id: str
    success: bool
    summary: str
    suite: str
    suite_created: bool
    report: str | None = None
    expectations: int


class DatasetSplit(Record):
    """The run's split of the dataset version (``split``): one CSV file per part."""

    split_id: str
    method: str
    created: bool
    train: str
    validation: str
    test: str
    rows: dict[str, int] = Field(default_factory=dict)


class ObjectiveValue(Record):
    metric: str
    value: float


class JobCounts(Record):
    completed: int
    stopped: int
    failed: int


class TrainingResult(Record):
    """The training job the run registers: the best of its tuning job (``tune``) or its one job (``train``)."""

    tuning_job: str | None
    training_job: str
    hyperparameters: dict[str, str]
    static_hyperparameters: dict[str, str] = Field(default_factory=dict)
    objective: ObjectiveValue | None = None
    strategy: str
    jobs: JobCounts
    convergence_plot: str | None = None


class ModelVersionSummary(Record):
    """A model package version of the registry, as the run reports it (``register``)."""

    group: str
    version: int
    status: str
    arn: str
    training_job: str | None = None
    tuning_job: str | None = None
    run_id: str | None = None
    model_data: str


class CandidateEvaluation(ModelVersionSummary):
    """The candidate scored on the held-out test split (``evaluate``), with links to every report."""

    problem: str | None = None
    rows: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    confusion_matrix: list[list[int]] | None = None
    reports: dict[str, str] = Field(default_factory=dict)
    experiment_id: str | None = None


class RecordedDecision(ModelVersionSummary):
    """The human decision as the registry recorded it."""

    approved_by: str | None = None
    comment: str | None = None


class CurrentModel(Record):
    version: int
    metrics: dict[str, float] = Field(default_factory=dict)
    approved_by: str | None = None


class PolicyRuleResult(Record):
    rule: str
    passed: bool
    detail: str


class PolicyGateResult(Record):
    """The promotion policy's verdict on the candidate against the model now in the environment."""

    passed: bool
    environment: str
    policy_file: str
    rules: tuple[PolicyRuleResult, ...]
    reasons: list[str]
    table: str
    current: CurrentModel | None = None


class DeploymentTarget(Record):
    """What a deployment deploys: an Approved version, with the request of how."""

    group: str
    version: int
    deployment: DeploymentRequest

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> DeploymentTarget:
        """The target within a record that carries one (a DeploymentTarget, an ApprovalAnswer)."""
        return cls.model_validate({name: data.get(name) for name in cls.model_fields})


class ApprovalRequest(PolicyGateResult, DeploymentTarget):
    """The policy gate's result with the approval's subject and Markdown body (``policy_gate``)."""

    subject: str
    body: str


class ApprovalAnswer(DeploymentTarget):
    """The approval task's result: the answer, as the registry recorded it (``approval``)."""

    approved: bool
    approved_by: str
    comment: str
    status: str
    responded_at: str


class DeploymentStarted(Record):
    """The deployment a run started (or found from an earlier try), carried by the trigger's event."""

    endpoint: str
    config: str
    model: str
    group: str
    version: int
    mode: str
    strategy: str
    alarms: list[str] = Field(default_factory=list)


class VariantWeight(Record):
    name: str
    model: str
    weight: float | None = None
    instances: int | None = None


class RolloutSummary(Record):
    """The endpoint's blue/green deployment (``from`` is a keyword: the field is ``source``, ``from`` in JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    source: str | None = Field(default=None, alias="from")
    to: str
    status: str
    steps: list[str] = Field(default_factory=list)
    reason: str | None = None


class DeployedEndpoint(DeploymentStarted):
    """The endpoint after the deployment ended, with the environment's registry alias (``deploy``)."""

    status: str
    url: str
    variants: list[VariantWeight] = Field(default_factory=list)
    deployment: RolloutSummary | None = None
    alias: str


class SmokeTestResult(Record):
    endpoint: str
    requests: int
    ok: int
    errors: int
    error_samples: list[str] = Field(default_factory=list)
    variants: dict[str, int] = Field(default_factory=dict)
    p50_ms: float | None = None
    p99_ms: float | None = None


class ScheduleRunSummary(Record):
    """One monitoring schedule's run over its window (the monitoring DAG's ``run_schedule``)."""

    schedule: str
    endpoint: str
    run: str
    window: tuple[str, str]
    violations: int
    report: str | None = None
    alerts: int
    retrain: bool
    retrain_reason: str | None = None


class RetrainRequest(Record):
    """The endpoints whose monitors asked for retraining, and why (``request_retraining``)."""

    endpoints: list[str]
    reasons: list[str | None]
