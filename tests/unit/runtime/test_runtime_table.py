"""The table of runtimes (mlops/runtime/table.py) is the one place a runtime name is resolved: built-in
rows resolve to their implementations, an unknown name is refused listing the rows, and a new row is
one ``register_runtime`` call."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.runtime import table
from mlops.runtime.interface import ModelServerRuntime, TrainingRuntime
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.runtime.table import RuntimeEntry, load_object, register_runtime, runtime_entry, runtime_names
from mlops.services.runtimes import server_runtime, training_runtime
from mlops.settings import Settings

EXTRA = RuntimeEntry(
    name="extra",
    description="the local runtime under another name",
    training="mlops.runtime.local_process:LocalProcessRuntime",
    executor="mlops.runtime.executor:start_local",
)


@pytest.fixture
def with_extra(monkeypatch: pytest.MonkeyPatch) -> RuntimeEntry:
    monkeypatch.setitem(table._TABLE, EXTRA.name, EXTRA)  # removed again after the test
    return EXTRA


def test_the_built_in_rows_come_first_and_resolve_to_their_implementations(tmp_path: Path) -> None:
    assert runtime_names()[:2] == ("local", "docker")
    for name in ("local", "docker"):
        entry = runtime_entry(name)
        assert entry.executor is not None and callable(load_object(entry.executor))
        assert isinstance(entry.training_factory(), type) and isinstance(entry.server_factory(), type)
    settings = Settings(home=tmp_path / "home", algorithms_dir=tmp_path / "algorithms")
    local: TrainingRuntime = training_runtime(settings, "local")
    assert isinstance(local, LocalProcessRuntime) and local.name == "local"
    servers: ModelServerRuntime = server_runtime(settings, "local", workers=2)
    assert type(servers).__name__ == "LocalModelServerRuntime"


def test_an_unknown_runtime_is_refused_naming_the_rows(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as e:
        training_runtime(Settings(home=tmp_path), "nope")
    assert e.value.field == "runtime"
    assert e.value.message.startswith("'nope' is not a runtime; choose one of local, docker")


def test_a_registered_row_is_found_by_every_caller(tmp_path: Path, with_extra: RuntimeEntry) -> None:
    assert "extra" in runtime_names() and "extra" not in table.server_runtime_names()
    assert "extra (the local runtime under another name)" in table.runtimes_help()
    assert "extra" not in table.runtimes_help(servers=True)
    settings = Settings(home=tmp_path / "home", algorithms_dir=tmp_path / "algorithms")
    assert isinstance(training_runtime(settings, "extra"), LocalProcessRuntime)
    with pytest.raises(ValidationError, match="runtime 'extra' runs no model servers; choose one of local, docker"):
        server_runtime(settings, "extra")


def test_a_name_is_registered_once(with_extra: RuntimeEntry) -> None:
    assert register_runtime(EXTRA) is EXTRA  # the same row again changes nothing
    with pytest.raises(ValidationError, match="a runtime named 'extra' is already registered"):
        register_runtime(dataclasses.replace(EXTRA, description="another"))
    other = register_runtime(dataclasses.replace(EXTRA, description="another"), replace=True)
    assert runtime_entry("extra") is other


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Bad Name"}, "runtime"),
        ({"name": "../x"}, "runtime"),
        ({"training": "/tmp/evil.py:Runtime"}, "runtime extra training"),
        ({"executor": "os.system"}, "runtime extra executor"),
        ({"server": "a.b:c\n"}, "runtime extra server"),
    ],
)
def test_a_row_names_its_implementations_by_import_path(change: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as e:
        dataclasses.replace(EXTRA, **change)
    assert e.value.field == field


def test_load_object_imports_only_dotted_names() -> None:
    with pytest.raises(ImportError, match="is not an import path"):
        load_object("../../tmp/evil:run")
    with pytest.raises(ImportError, match="has no 'nothing'"):
        load_object("mlops.runtime.table:nothing")
    assert load_object("mlops.runtime.table:load_object") is load_object
