"""The local store takes and hands out copies, never links: changing the file given to put_file, or what
get_file gave, changes no stored object."""

from __future__ import annotations

import os
from pathlib import Path

from mlops.store.local import LocalStore


def test_a_fetched_file_is_a_copy_of_its_own(tmp_path: Path) -> None:
    stored = tmp_path / "store" / "dataset" / "v1" / "train.csv"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"1,2,3\n" * 1000)
    local = LocalStore().get_file(str(stored), tmp_path / "job" / "train.csv")
    assert local.read_bytes() == stored.read_bytes()
    assert not os.path.samefile(local, stored) and stored.stat().st_nlink == 1
    with open(local, "r+b") as f:
        f.write(b"CORRUPTED")
    assert stored.read_bytes() == b"1,2,3\n" * 1000


def test_a_stored_file_does_not_change_with_the_callers_file(tmp_path: Path) -> None:
    source = tmp_path / "churn.csv"
    source.write_bytes(b"a,b\n1,2\n")
    uri = LocalStore().put_file(source, str(tmp_path / "store" / "raw" / "churn.csv"))
    with open(source, "ab") as f:  # the user appends to the file they ingested
        f.write(b"3,4\n")
    stored = tmp_path / "store" / "raw" / "churn.csv"
    assert LocalStore().get_file(uri, tmp_path / "back.csv").read_bytes() == b"a,b\n1,2\n"
    assert not os.path.samefile(source, stored) and source.stat().st_nlink == 1
    assert [p.name for p in stored.parent.iterdir()] == ["churn.csv"]  # no temporary file left


def test_a_fetched_file_replaces_a_link_at_its_name_instead_of_writing_through_it(tmp_path: Path) -> None:
    stored = tmp_path / "stored.bin"
    stored.write_bytes(b"data")
    victim = tmp_path / "victim"
    victim.write_bytes(b"victim")
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "x.bin").symlink_to(victim)
    LocalStore().get_file(str(stored), tmp_path / "job" / "x.bin")
    assert victim.read_bytes() == b"victim" and (tmp_path / "job" / "x.bin").read_bytes() == b"data"


def test_copy_contents_copies_every_byte(tmp_path: Path) -> None:
    from mlops.store.local import copy_contents

    source = tmp_path / "src"
    source.write_bytes(os.urandom(3 << 20) + b"end")
    with open(source, "rb") as s, open(tmp_path / "dst", "wb") as d:
        copy_contents(s.fileno(), d.fileno())
    assert (tmp_path / "dst").read_bytes() == source.read_bytes()
    (tmp_path / "empty").write_bytes(b"")
    with open(tmp_path / "empty", "rb") as s, open(tmp_path / "dst2", "wb") as d:
        copy_contents(s.fileno(), d.fileno())
    assert (tmp_path / "dst2").read_bytes() == b""
