"""The failure file as the host reads and writes it: only a regular file, never through a link,
never more than FailureReason needs."""

from __future__ import annotations

import os
import threading
import tracemalloc
from pathlib import Path

import pytest

from mlops.contract.failure import FAILURE_REASON_LIMIT, FailureFileError, read_failure, write_failure
from mlops.contract.layout import Layout


def _layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "opt" / "ml").create()


def test_the_reason_is_the_stripped_start_of_a_regular_file(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    assert read_failure(layout) is None
    layout.failure_file.write_text("  AlgorithmError: bad row é\n" + "x" * 5000)
    reason = read_failure(layout)
    assert reason is not None and reason.startswith("AlgorithmError: bad row é") and len(reason) == FAILURE_REASON_LIMIT


def test_a_huge_failure_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    with open(layout.failure_file, "wb") as f:
        f.write(b"AlgorithmError: out of patience\n")
        f.truncate(1 << 30)  # 1 GiB, sparse: takes no disk
    tracemalloc.start()
    try:
        reason = read_failure(layout)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reason is not None and reason.startswith("AlgorithmError: out of patience")
    assert peak < 1 << 20, f"read_failure held {peak} bytes"


def test_a_link_to_a_secret_is_not_read(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text("host-secret")
    layout.failure_file.symlink_to(secret)
    with pytest.raises(FailureFileError, match="the failure file is a symbolic link, not a regular file"):
        read_failure(layout)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    os.mkfifo(layout.failure_file)
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(_outcome(layout)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert result == ["the failure file is a FIFO, not a regular file; it was not read"]


def _outcome(layout: Layout) -> object:
    try:
        return read_failure(layout)
    except FailureFileError as e:
        return str(e)


def test_a_linked_output_folder_is_not_read_or_written(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "failure").write_text("host-secret")
    layout.failure_file.parent.rename(tmp_path / "moved")
    layout.failure_file.parent.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(FailureFileError, match="output folder is a symbolic link"):
        read_failure(layout)
    with pytest.raises(FailureFileError, match="output folder is a symbolic link"):
        write_failure(layout, "InternalServerError: lost track of the container")
    assert (elsewhere / "failure").read_text() == "host-secret"


def test_writing_never_goes_through_a_link(tmp_path: Path) -> None:
    """A dangling link to a host path: writing the failure file must not create that file."""
    layout = _layout(tmp_path)
    target = tmp_path / "created-by-the-host"
    layout.failure_file.symlink_to(target)
    with pytest.raises(FailureFileError, match="is a symbolic link"):
        write_failure(layout, "ClientError: the image's `train` was not found")
    assert not target.exists()
    layout.failure_file.unlink()
    write_failure(layout, "ClientError: the image's `train` was not found")
    assert read_failure(layout) == "ClientError: the image's `train` was not found"
