"""Small readers of a task's Airflow context, shared by the operators and the task callables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops.airflow.steps import run_suffix


def suffix_of(context: Mapping[str, Any]) -> str:
    """The run's short hash: job, model and config names carry it, so a retry finds its own."""
    return run_suffix(context["ti"].dag_id, context["run_id"])


def pull(context: Mapping[str, Any], *task_ids: str) -> Any:
    """The first non-empty return value of ``task_ids`` (e.g. whichever of tune/train ran)."""
    ti = context["ti"]
    for task_id in task_ids:
        value = ti.xcom_pull(task_ids=task_id)
        if value:
            return value
    return None
