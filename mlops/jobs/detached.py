"""A job's detached process: ``python -m MODULE FOLDER`` in a session of its own, so it outlives whoever
started it (a CLI, an Airflow task), with its pid kept in the job's folder so that any later process can
ask whether it still runs or stop it. Also the one wait: poll a record until it is terminal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mlops.core.files import private_opener, write_atomic

if TYPE_CHECKING:
    import subprocess

R = TypeVar("R")

_children: list[subprocess.Popen[bytes]] = []  # the processes started here, reaped once they end


@dataclass(frozen=True)
class DetachedProcess:
    """How one kind of job runs: the module run as ``python -m MODULE FOLDER``, the file in the folder its
    output goes to and the file its pid is kept in (``{"pid": N}``)."""

    module: str
    log_file: str
    pid_file: str

    def spawn(self, folder: Path, environment: Mapping[str, str] | None = None) -> int:
        """Start the process detached (own session, stdin from /dev/null, output appended to the log, 0600),
        with ``environment`` over this process's; record its pid in the folder and return it."""
        import subprocess  # only a launcher needs it; readers of records do not pay for it

        env = {**os.environ, **(environment or {})}
        with open(folder / self.log_file, "ab", opener=private_opener) as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", self.module, str(folder)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
        _children[:] = [child for child in _children if child.poll() is None]  # reap those that ended
        _children.append(proc)
        write_atomic(folder / self.pid_file, json.dumps({"pid": proc.pid}, indent=2))
        return proc.pid

    def pid(self, folder: Path) -> int | None:
        """The recorded pid, or None when none was recorded."""
        path = folder / self.pid_file
        if not path.exists():
            return None
        pid = json.loads(path.read_text()).get("pid")
        return int(str(pid)) if pid is not None else None

    def alive(self, folder: Path) -> bool | None:
        """Whether the recorded process still runs; None when no pid was recorded."""
        pid = self.pid(folder)
        return None if pid is None else alive(pid)

    def stop(self, folder: Path) -> None:
        """Ask the recorded process to stop (SIGTERM); one already gone, or never recorded, is left be."""
        pid = self.pid(folder)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs: a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


_UNSEEN = object()


def wait_until_terminal(
    read: Callable[[], R],
    terminal: Callable[[R], bool],
    change: Callable[[R], object],
    on_change: Callable[[R], None] | None = None,
    poll_seconds: float = 0.5,
) -> R:
    """Read the record every ``poll_seconds`` until ``terminal`` says it ended; return it. ``on_change`` is
    called with the first record and with each one whose ``change`` key differs from the previous one's."""
    last: object = _UNSEEN
    while True:
        record = read()
        key = change(record)
        if key != last and on_change is not None:
            on_change(record)
        last = key
        if terminal(record):
            return record
        time.sleep(poll_seconds)
