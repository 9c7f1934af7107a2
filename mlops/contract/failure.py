"""Running an algorithm's entry point under the contract's failure rules, and the failure file itself.

A failing job writes its reason to /opt/ml/output/failure (SageMaker shows the first 1024
characters as FailureReason) and exits non-zero. No os._exit, no work at import.

The failure file sits in a folder the algorithm (or its container) can write, so whoever reads or
writes it from outside treats it as hostile: ``read_failure`` opens it without following a symbolic
link (neither ``failure`` nor ``output/``), reads only a regular file and at most a bounded number of
bytes; ``write_failure`` never writes through a link either.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import traceback
from collections.abc import Callable

from mlops.contract.errors import AlgorithmError
from mlops.contract.layout import Layout

FAILURE_REASON_LIMIT = 1024
_MAX_BYTES_PER_CHARACTER = 4  # UTF-8
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


class FailureFileError(Exception):
    """The failure file is there but is not a regular file in a real folder, so it was not read."""


def file_kind(mode: int) -> str:
    """What a stat mode is, in words, for a refusal: "a symbolic link", "a FIFO", "a device file"…"""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def _open_output_dir(layout: Layout) -> int:
    """A descriptor of the root's ``output`` folder, refusing a symbolic link in its place."""
    root = os.open(layout.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            return os.open(layout.failure_file.parent.name, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=root)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                mode = os.stat(layout.failure_file.parent.name, dir_fd=root, follow_symlinks=False).st_mode
                raise FailureFileError(
                    f"the failure file's output folder is {file_kind(mode)}, not a folder; "
                    "the failure file was not read"
                ) from None
            raise
    finally:
        os.close(root)


def read_failure(layout: Layout, limit: int = FAILURE_REASON_LIMIT) -> str | None:
    """The reason the algorithm wrote (stripped, at most ``limit`` characters), or None when there is
    none. Raises FailureFileError when the failure file is a link, a FIFO, a device or the like."""
    name = layout.failure_file.name
    try:
        folder = _open_output_dir(layout)
    except FileNotFoundError:
        return None
    try:
        try:
            mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(mode):  # checked before opening: opening a device or a FIFO has effects
            raise FailureFileError(f"the failure file is {file_kind(mode)}, not a regular file; it was not read")
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | _NOFOLLOW, dir_fd=folder)
        except OSError as e:  # replaced between the check and the open
            raise FailureFileError(
                f"the failure file could not be opened safely ({e.strerror}); it was not read"
            ) from None
    finally:
        os.close(folder)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FailureFileError("the failure file is not a regular file; it was not read")
        wanted, chunks = limit * _MAX_BYTES_PER_CHARACTER, []
        while wanted > 0 and (chunk := os.read(fd, wanted)):
            chunks.append(chunk)
            wanted -= len(chunk)
    finally:
        os.close(fd)
    text = b"".join(chunks).decode("utf-8", errors="replace").strip()
    return text[:limit] or None


def write_failure(layout: Layout, reason: str) -> None:
    """Write ``reason`` to the failure file, replacing a regular file there; never through a link."""
    layout.failure_file.parent.mkdir(parents=True, exist_ok=True)
    folder = _open_output_dir(layout)
    try:
        try:
            mode = os.stat(layout.failure_file.name, dir_fd=folder, follow_symlinks=False).st_mode
        except FileNotFoundError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise FailureFileError(
                f"the failure file is {file_kind(mode)}, not a regular file; nothing was written to it"
            )
        fd = os.open(
            layout.failure_file.name,
            os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | os.O_NOCTTY | _NOFOLLOW,
            0o644,
            dir_fd=folder,
        )
    finally:
        os.close(folder)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FailureFileError("the failure file is not a regular file; nothing was written to it")
        f.write(reason)


def run_training(train: Callable[[Layout], None], layout: Layout | None = None) -> int:
    """Call ``train(layout)``; on error write the failure file and return a non-zero exit code."""
    lay = layout or Layout.from_env()
    try:
        train(lay)
    except AlgorithmError as e:
        write_failure(lay, f"AlgorithmError: {e}")
        print(f"AlgorithmError: {e}", file=sys.stderr, flush=True)
        return 2
    except Exception as e:  # an unexpected crash: keep the trace in the log, the gist in the reason
        traceback.print_exc()
        write_failure(lay, f"InternalError: {type(e).__name__}: {e}")
        return 1
    return 0
