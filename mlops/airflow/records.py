"""What the training pipeline's tasks hand each other, as typed records (no Airflow import).

A task returns ``record.model_dump(mode="json")`` (plain JSON, which every XCom backend stores and the UI
shows) and the next task reads it back with ``Record.model_validate``: a field renamed or missing fails the
reading task at once, naming the field, instead of a ``KeyError`` deep in a step. The run's request
(``request.TrainingRequest``) travels the same way.
"""

from __future__ import annotations

from pydantic import Field

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
