"""The runtime interfaces every implementation (local process, Docker, SageMaker) satisfies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlops.core.training import MetricData, TrainingJob, TrainingJobRequest


class TrainingRuntime(Protocol):
    name: str

    def create_training_job(self, request: TrainingJobRequest) -> TrainingJob:
        """Start the job and return at once (status InProgress); the job runs on without the caller."""
        ...

    def describe_training_job(self, name: str) -> TrainingJob: ...

    def stop_training_job(self, name: str) -> TrainingJob: ...

    def list_training_jobs(self) -> list[TrainingJob]: ...

    def log_path(self, name: str) -> Path: ...

    def metric_history(self, name: str) -> list[MetricData]:
        """Every metric value the job emitted so far, in order (intermediate values carry Step)."""
        ...

    def wait(
        self, name: str, on_change: Callable[[TrainingJob], None] | None = None, poll_seconds: float = 0.05
    ) -> TrainingJob: ...


@dataclass(frozen=True)
class ModelServer:
    """One running model-server instance (a process or a container) answering /ping and /invocations."""

    instance_id: str
    url: str  # http://127.0.0.1:PORT
    pid: int | None = None
    container_id: str | None = None


class ModelServerRuntime(Protocol):
    def start_server(
        self, algorithm: str, model_data: str, model_sha256: str, environment: dict[str, str] | None = None
    ) -> ModelServer:
        """Fetch the model, refuse it unless its bytes have ``model_sha256`` (required: a model whose sha256
        is unknown is never served), unpack those checked bytes into a fresh /opt/ml/model and start
        ``serve``; returns when /ping answers 200, or raises with the server's log when it never does."""
        ...

    def stop_server(self, server: ModelServer) -> None: ...
