"""The registry and tracking interfaces. MLflow implements both (``mlflow_registry``, ``mlflow_tracker``);
a SageMaker Model Registry implementation would translate the same records to its API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from mlops.core.registry import (
    CreateModelPackageInput,
    ModelApprovalStatus,
    ModelMetrics,
    ModelPackage,
    ModelPackageGroup,
    TrackedRun,
)
from mlops.core.training import MetricData


class ModelRegistry(Protocol):
    """Model package groups and their numbered versions, with approval status, lineage and aliases."""

    def create_model_package_group(self, name: str, description: str = "") -> ModelPackageGroup:
        """Raises ConflictError when the group exists."""
        ...

    def describe_model_package_group(self, name: str) -> ModelPackageGroup: ...

    def list_model_package_groups(self) -> list[ModelPackageGroup]: ...

    def create_model_package(self, request: CreateModelPackageInput, run_id: str | None = None) -> ModelPackage:
        """A new version in the group (which must exist). ``run_id`` is the tracking run that produced the
        model; a local model artifact is copied into that run so the registry holds what it points at."""
        ...

    def describe_model_package(self, group: str, version: int) -> ModelPackage: ...

    def list_model_packages(self, group: str, status: ModelApprovalStatus | None = None) -> list[ModelPackage]:
        """Versions in ascending order, optionally only those with ``status``."""
        ...

    def update_approval_status(
        self, group: str, version: int, status: ModelApprovalStatus, approved_by: str, description: str = ""
    ) -> ModelPackage:
        """Applies the approval rules of ``mlops.core.registry.check_approval_transition``."""
        ...

    def set_model_metrics(self, group: str, version: int, metrics: ModelMetrics) -> ModelPackage: ...

    def set_alias(self, group: str, alias: str, version: int) -> ModelPackage:
        """Point ``alias`` (e.g. staging, prod) at an Approved version."""
        ...

    def delete_alias(self, group: str, alias: str) -> None: ...

    def describe_by_alias(self, group: str, alias: str) -> ModelPackage: ...


class Tracker(Protocol):
    """Experiment tracking: runs with parameters, metric histories, tags, datasets and artifacts."""

    def find_run(self, tag: str, value: str, experiment: str | None = None) -> TrackedRun | None: ...

    def start_run(
        self,
        name: str,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        experiment: str | None = None,
        start_time: datetime | None = None,
    ) -> str: ...

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None: ...

    def log_metrics(self, run_id: str, metrics: Sequence[MetricData]) -> None: ...

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    def log_dataset(
        self, run_id: str, name: str, digest: str, source: str, schema: str = "", context: str = "training"
    ) -> None: ...

    def log_artifact(self, run_id: str, local: Path, artifact_path: str | None = None) -> str:
        """Copy a file into the run's artifacts; returns its artifact URI."""
        ...

    def end_run(self, run_id: str, status: str = "FINISHED", end_time: datetime | None = None) -> None: ...

    def get_run(self, run_id: str) -> TrackedRun: ...

    def metric_history(self, run_id: str, name: str) -> list[MetricData]: ...
