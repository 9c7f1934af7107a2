"""Choosing runtime implementations from settings, by name, through the table of runtimes
(mlops/runtime/table.py): the one place that knows every implementation."""

from __future__ import annotations

from mlops.runtime.interface import ModelServerRuntime, TrainingRuntime
from mlops.runtime.table import DEFAULT_RUNTIME, runtime_entry, runtime_names, server_runtime_names
from mlops.services.catalog import algorithm_catalog
from mlops.settings import Settings

__all__ = ["DEFAULT_RUNTIME", "runtime_names", "server_runtime", "server_runtime_names", "training_runtime"]


def training_runtime(settings: Settings, name: str = DEFAULT_RUNTIME) -> TrainingRuntime:
    factory = runtime_entry(name).training_factory()
    return factory(settings.jobs_dir, algorithm_catalog(settings), settings.stop_grace_seconds)


def server_runtime(settings: Settings, name: str = DEFAULT_RUNTIME, workers: int = 1) -> ModelServerRuntime:
    factory = runtime_entry(name).server_factory()
    return factory(settings.paths.servers, algorithm_catalog(settings), workers)
