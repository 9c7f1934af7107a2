"""The one record store: a folder per record, named by a checked field, request and record kept apart."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import BaseModel

from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.ids import check_name
from mlops.jobs.records import RecordStore


class Ask(BaseModel):
    ThingName: str
    size: int = 1


class Thing(BaseModel):
    ThingName: str
    status: str


def _store(root: Path) -> RecordStore[Ask, Thing]:
    return RecordStore(
        root, Ask, Thing, name_field="ThingName", check_name=check_name, noun="thing", hint="List things."
    )


def test_reserve_save_load_names(tmp_path: Path) -> None:
    store = _store(tmp_path / "things")
    assert store.names() == []
    folder = store.reserve(Ask(ThingName="b", size=3))
    assert folder == store.folder("b") and store.request("b") == Ask(ThingName="b", size=3)
    assert store.names() == [] and not store.exists("b")  # reserved, not yet saved
    store.save(Thing(ThingName="b", status="on"))
    store.reserve(Ask(ThingName="a"))
    store.save(Thing(ThingName="a", status="off"))
    assert store.names() == ["a", "b"] and store.exists("a")
    assert store.load("b") == Thing(ThingName="b", status="on")


def test_a_name_is_reserved_once(tmp_path: Path) -> None:
    store = _store(tmp_path / "things")
    store.reserve(Ask(ThingName="a"))
    with pytest.raises(ConflictError, match="a thing named 'a' already exists"):
        store.reserve(Ask(ThingName="a", size=2))
    assert store.request("a").size == 1


def test_a_missing_record_names_itself_and_the_hint(tmp_path: Path) -> None:
    store = _store(tmp_path / "things")
    for call in (store.load, store.request):
        with pytest.raises(NotFoundError, match=r"thing 'nope' not found\. List things\."):
            call("nope")


@pytest.mark.parametrize("name", ["../x", "x\n", "/abs"])
def test_a_bad_name_is_refused_naming_the_field(tmp_path: Path, name: str) -> None:
    store = _store(tmp_path / "things")
    for call in (store.folder, store.load, store.request, store.exists):
        with pytest.raises(ValidationError) as e:
            call(name)
        assert e.value.field == "ThingName"
    with pytest.raises(ValidationError):
        store.reserve(Ask(ThingName=name))
    assert not (tmp_path / "x").exists()


def test_folders_are_0700_and_files_0600(tmp_path: Path) -> None:
    store = _store(tmp_path / "things")
    folder = store.reserve(Ask(ThingName="a"))
    store.save(Thing(ThingName="a", status="on"))
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("request.json", "job.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
