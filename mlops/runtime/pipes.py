"""Pipe mode, the supervisor's side: one FIFO per channel and epoch (``<channel>_<epoch>``) in the
contract's input/data folder, each fed the channel's staged files once the algorithm opens it.

The algorithm can reach that folder (a local process can do anything its user can; a container sees
it read-only at /opt/ml/input/data, see docker.py), so the feeder never trusts a path: it works
through a descriptor of the folder taken before the algorithm starts (renaming or replacing the
folder changes nothing), creates each FIFO itself, opens it without following a symbolic link and
writes only once ``fstat`` says it is a FIFO. Anything else in its place ends the channel's epochs,
with a line in the job's log, and nothing is written anywhere else.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from mlops.contract.failure import file_kind
from mlops.contract.layout import Layout

BLOCK = 1 << 20


class PipeRefused(Exception):
    """What sits at a FIFO's name is not the FIFO the feeder made."""


def open_fifo_for_writing(name: str, folder: int) -> int:
    """A write descriptor of the FIFO ``name`` in the folder ``folder`` (blocks until a reader opens it).
    Raises PipeRefused for anything but a FIFO there: a link, a file, a device, nothing at all."""
    try:
        mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except FileNotFoundError:
        raise PipeRefused(f"{name} was removed") from None
    if not stat.S_ISFIFO(mode):  # checked before opening: opening a device has effects of its own
        raise PipeRefused(f"{name} was replaced by {file_kind(mode)}")
    try:
        fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, dir_fd=folder)
    except OSError as e:
        reason = "a symbolic link" if e.errno == errno.ELOOP else e.strerror
        raise PipeRefused(f"{name} could not be opened as the FIFO it was ({reason})") from None
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        raise PipeRefused(f"{name} was replaced by something that is not a FIFO")
    return fd


class PipeChannel:
    """Feeds one channel's files to ``<channel>_0``, ``<channel>_1``, … until ``stop`` is set."""

    def __init__(
        self, layout: Layout, channel: str, files: list[Path], stop: threading.Event, report: Callable[[str], None]
    ) -> None:
        self.layout = layout
        self.channel = channel
        self.files = files
        self.stop = stop
        self.report = report
        self.folder = os.open(layout.data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def name(self, epoch: int) -> str:
        return self.layout.pipe_path(self.channel, epoch).name

    def start(self) -> threading.Thread:
        os.mkfifo(self.name(0), 0o600, dir_fd=self.folder)
        thread = threading.Thread(target=self._feed, name=f"pipe-{self.channel}", daemon=True)
        thread.start()
        return thread

    def _feed(self) -> None:
        epoch = 0
        try:
            while not self.stop.is_set():
                try:
                    fd = open_fifo_for_writing(self.name(epoch), self.folder)  # waits for the algorithm
                except PipeRefused as e:
                    self.report(f"Pipe mode, channel {self.channel!r}: {e}; no more epochs are fed")
                    return
                with contextlib.suppress(OSError), open(fd, "wb") as fifo:  # BrokenPipeError: it stopped reading
                    with contextlib.suppress(FileExistsError):  # what is there is checked when it is opened
                        os.mkfifo(self.name(epoch + 1), 0o600, dir_fd=self.folder)
                    for path in self.files:
                        with open(path, "rb") as src:
                            while block := src.read(BLOCK):
                                fifo.write(block)
                epoch += 1
        finally:
            os.close(self.folder)
