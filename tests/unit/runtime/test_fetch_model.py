"""fetch_model: a model's archive is unpacked only when its bytes have the sha256 recorded for it, and
what is unpacked is exactly the bytes that were checked."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.core.files import sha256_file
from mlops.runtime import local_server
from mlops.runtime.local_server import fetch_model


def archive_of(path: Path, text: str) -> Path:
    """A model.tar.gz holding one file, model.txt, with ``text``."""
    data = text.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("model.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_the_checked_archive_is_unpacked_and_not_kept(tmp_path: Path) -> None:
    source = archive_of(tmp_path / "store" / "model.tar.gz", "good")
    layout = fetch_model(str(source), sha256_file(source), tmp_path / "serve")
    assert (layout.model_dir / "model.txt").read_text() == "good"
    assert sorted(p.name for p in (tmp_path / "serve").iterdir()) == ["opt"]  # no archive left beside it
    assert source.is_file()  # the store's object is untouched


def test_the_recorded_sha256_may_be_given_as_sha256_colon_in_capitals(tmp_path: Path) -> None:
    source = archive_of(tmp_path / "store" / "model.tar.gz", "good")
    layout = fetch_model(str(source), "sha256:" + sha256_file(source).upper(), tmp_path / "serve")
    assert (layout.model_dir / "model.txt").read_text() == "good"


def test_an_archive_swapped_after_its_sha256_was_recorded_is_refused_naming_both(tmp_path: Path) -> None:
    source = archive_of(tmp_path / "store" / "model.tar.gz", "good")
    recorded = sha256_file(source)
    archive_of(source, "swapped")  # same URI, other bytes
    with pytest.raises(ValidationError) as refused:
        fetch_model(str(source), recorded, tmp_path / "serve")
    message = str(refused.value)
    assert recorded in message and sha256_file(source) in message and "refusing to serve" in message
    assert not list((tmp_path / "serve").rglob("*")), "something of the refused archive was kept or unpacked"


@pytest.mark.parametrize("missing", [None, ""])
def test_a_model_without_a_sha256_is_never_fetched(missing: str | None, tmp_path: Path) -> None:
    source = archive_of(tmp_path / "store" / "model.tar.gz", "good")
    (tmp_path / "serve").mkdir()
    with pytest.raises(ValidationError) as refused:
        fetch_model(str(source), missing, tmp_path / "serve")  # type: ignore[arg-type]
    assert str(refused.value).startswith("model_sha256: ") and "unchecked" in str(refused.value)
    assert not list((tmp_path / "serve").rglob("*"))


def test_a_malformed_sha256_is_refused_naming_it(tmp_path: Path) -> None:
    source = archive_of(tmp_path / "store" / "model.tar.gz", "good")
    with pytest.raises(ValidationError, match=r"^model_sha256: 'abc123' is not a sha256"):
        fetch_model(str(source), "abc123", tmp_path / "serve")


def test_bytes_written_to_the_source_after_the_check_never_reach_the_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The time-of-check/time-of-use window: someone who can write the stored object rewrites it in
    place (same file, so also any hard link to it) once the sha256 has been checked. What is unpacked
    must still be the checked bytes."""
    source = archive_of(tmp_path / "store" / "model.tar.gz", "good")
    recorded = sha256_file(source)
    evil = archive_of(tmp_path / "evil.tar.gz", "evil").read_bytes()
    real_unpack = local_server.unpack_archive

    def rewrite_then_unpack(*args: object, **kwargs: object) -> Path:
        with open(source, "r+b") as f:  # in place: the inode every link shares
            f.write(evil)
            f.truncate()
        return real_unpack(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(local_server, "unpack_archive", rewrite_then_unpack)
    layout = fetch_model(str(source), recorded, tmp_path / "serve")
    assert sha256_file(source) != recorded  # the rewrite happened after the check
    assert (layout.model_dir / "model.txt").read_text() == "good"
