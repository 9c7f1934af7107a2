"""DAG integrity: every DAG file imports without error and without I/O, has no cycles, and every task
has an owner, retries and a timeout. Loads the files the way the dag-processor does (DagBag)."""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import itertools
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
HEAVY = ("pandas", "mlflow", "sklearn", "great_expectations", "xgboost", "torch")


@pytest.fixture(scope="module")
def dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS), include_examples=False)


def test_every_dag_file_imports_without_errors(dagbag: Any) -> None:
    assert DAG_FILES, "no DAG files"
    assert dagbag.import_errors == {}
    assert {"training_pipeline", "deployment"} <= set(dagbag.dag_ids)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_importing_a_dag_file_does_no_io(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No file opened, no socket, no subprocess, no heavy library while the file is parsed."""
    # Airflow's and our glue's own imports may read files; the DAG file itself must not do I/O.
    for name in ("airflow.sdk", "mlops.airflow.approval", "mlops.airflow.operators", "mlops.airflow.tasks"):
        importlib.import_module(name)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"I/O while importing {path.name}: {args[:2]}")

    heavy_before = {m for m in HEAVY if m in sys.modules}
    spec = importlib.util.spec_from_file_location(f"dag_under_test_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    source = compile(path.read_text(), str(path), "exec")
    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import subprocess

    monkeypatch.setattr(subprocess, "Popen", refuse)
    started = time.perf_counter()
    exec(source, module.__dict__)
    took = time.perf_counter() - started
    monkeypatch.undo()
    assert {m for m in HEAVY if m in sys.modules} == heavy_before, "a DAG file imported a heavy library"
    assert took < 5.0, f"{path.name} took {took:.1f}s to parse"


def _cycle(dag: Any) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(task_id: str, path: list[str]) -> list[str] | None:
        if state.get(task_id) == 1:
            return [*path, task_id]
        if state.get(task_id) == 2:
            return None
        state[task_id] = 1
        for child in dag.get_task(task_id).downstream_task_ids:
            found = visit(child, [*path, task_id])
            if found:
                return found
        state[task_id] = 2
        return None

    for task_id in dag.task_ids:
        found = visit(task_id, [])
        if found:
            return found
    return None


def test_no_cycles(dagbag: Any) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert _cycle(dag) is None, f"{dag_id} has a cycle"
        assert dag.roots, f"{dag_id} has no root task"


def test_every_task_has_an_owner_retries_and_a_timeout(dagbag: Any) -> None:
    problems = []
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            if not task.owner or task.owner == "airflow":
                problems.append(f"{where}: no owner")
            if task.retries is None or task.retries < 1:
                problems.append(f"{where}: no retries")
            if not isinstance(task.execution_timeout, timedelta):
                problems.append(f"{where}: no execution_timeout")
            if hasattr(task, "response_timeout") and not task.response_timeout:
                problems.append(f"{where}: a human approval without response_timeout")
            if not task.on_failure_callback:
                problems.append(f"{where}: no failure callback")
    assert not problems, "\n".join(problems)


def test_the_pipeline_is_wired_in_order(dagbag: Any) -> None:
    dag = dagbag.dags["training_pipeline"]
    order = ["check_inputs", "ingest", "validate", "split", "choose_training"]
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    assert {"tune", "train"} <= dag.get_task("choose_training").downstream_task_ids
    chain = ["register", "evaluate", "policy_gate", "approval", "deploy", "smoke_test", "summary"]
    for upstream, downstream in itertools.pairwise(chain):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    assert dag.get_task("tune").pool == "mlops_training"
    assert dag.get_task("approval").__class__.__name__ == "ModelApprovalOperator"
    deferrable = [t.task_id for t in dag.tasks if t.__class__.__name__.endswith(("JobOperator", "DeploymentOperator"))]
    assert sorted(deferrable) == ["deploy", "train", "tune"]
