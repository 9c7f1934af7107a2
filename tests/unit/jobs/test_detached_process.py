"""The one detached-job mechanism: spawn ``python -m MODULE FOLDER`` in its own session with its pid in the
folder, tell whether it runs (a zombie does not), stop it, and wait for a record to end."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from mlops.jobs.detached import DetachedProcess, alive, wait_until_terminal

CHILD = DetachedProcess("tests.unit.jobs.detached_child", log_file="child.log", pid_file="child.json")
REPO = Path(__file__).resolve().parents[3]


def _until(check, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_spawn_records_the_pid_and_stop_ends_the_process(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(REPO)  # where ``-m tests.…`` is found
    folder = tmp_path / "job"
    folder.mkdir()
    assert CHILD.pid(folder) is None and CHILD.alive(folder) is None
    CHILD.stop(folder)  # nothing recorded: nothing to stop
    pid = CHILD.spawn(folder, {"DETACHED_TEST": "given"})
    try:
        assert CHILD.pid(folder) == pid and CHILD.alive(folder) is True
        assert _until(lambda: (folder / "seen.txt").exists() and (folder / "seen.txt").read_text())
        assert (folder / "seen.txt").read_text() == "given True True"  # environment, own session, stdin empty
        assert _until(lambda: "started" in (folder / "child.log").read_text())
        assert stat.S_IMODE((folder / "child.log").stat().st_mode) == 0o600
        assert stat.S_IMODE((folder / "child.json").stat().st_mode) == 0o600
    finally:
        CHILD.stop(folder)
    assert _until(lambda: CHILD.alive(folder) is False)
    CHILD.stop(folder)  # gone already: no error


def test_a_zombie_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    assert _until(lambda: not alive(proc.pid))
    assert Path(f"/proc/{proc.pid}").exists()  # exited, not yet reaped: a zombie
    assert proc.wait() == 0
    assert alive(os.getpid())


def test_wait_until_terminal_reports_each_change_once() -> None:
    states = iter(["a", "a", "b", "b", "done", "never"])
    seen: list[str] = []
    result = wait_until_terminal(lambda: next(states), lambda s: s == "done", lambda s: s, seen.append, 0)
    assert result == "done" and seen == ["a", "b", "done"]
