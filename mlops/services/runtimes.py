"""Choosing runtime implementations from settings: the one place that knows every implementation."""

from __future__ import annotations

from mlops.core.errors import ValidationError
from mlops.runtime.interface import ModelServerRuntime, TrainingRuntime
from mlops.services.catalog import algorithm_catalog
from mlops.settings import Settings

RUNTIMES = ("local", "docker")


def training_runtime(settings: Settings, name: str = "local") -> TrainingRuntime:
    catalog = algorithm_catalog(settings)
    if name == "local":
        from mlops.runtime.local_process import LocalProcessRuntime

        return LocalProcessRuntime(settings.jobs_dir, catalog, settings.stop_grace_seconds)
    if name == "docker":
        from mlops.runtime.docker import DockerRuntime

        return DockerRuntime(settings.jobs_dir, catalog, settings.stop_grace_seconds)
    raise ValidationError("runtime", f"{name!r} is not a runtime; choose one of {', '.join(RUNTIMES)}")


def server_runtime(settings: Settings, name: str = "local", workers: int = 1) -> ModelServerRuntime:
    catalog = algorithm_catalog(settings)
    if name == "local":
        from mlops.runtime.local_server import LocalModelServerRuntime

        return LocalModelServerRuntime(settings.paths.servers, catalog, workers)
    if name == "docker":
        from mlops.runtime.docker import DockerModelServerRuntime

        return DockerModelServerRuntime(settings.paths.servers, catalog, workers)
    raise ValidationError("runtime", f"{name!r} is not a runtime; choose one of {', '.join(RUNTIMES)}")
