"""No orphans: model servers never outlive the control process that started them.

A clean stop (SIGTERM, SIGINT) stops every instance itself. For a hard death (SIGKILL, a crash) the
control process starts this small watchdog at boot: it blocks on a pipe whose only writer is the
control process; when the pipe reaches EOF the control process is gone, and the watchdog stops every
instance listed in ``instances.json`` (process groups, checked against their start time so a recycled
pid is never hit; containers through the engine) and every process whose environment carries the
control process's tag (``MLOPS_CONTROL_TAG``, given to every model server it starts: this also catches
a server whose start was still under way). A restarted control process does the same with whatever a
previous one left behind before it starts anything.

    python -m mlops.hosting.reaper INSTANCES_JSON FD TAG
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from mlops.hosting.store import InstanceRecord, read_instances

GRACE_SECONDS = 5.0
TAG_ENV = "MLOPS_CONTROL_TAG"


def process_start_time(pid: int) -> float | None:
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:
        return None


def _alive(record: InstanceRecord) -> bool:
    if record.Pid is None:
        return False
    started = process_start_time(record.Pid)
    if started is None:
        return False
    return record.ProcessStartTime is None or abs(started - record.ProcessStartTime) < 1.0


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _remove_container(container_id: str) -> bool:
    """Remove the container if it still exists; True if it did."""
    try:
        import docker

        client = docker.from_env()
        try:
            client.containers.get(container_id).remove(force=True)
            return True
        finally:
            client.close()
    except Exception:  # gone already, or no engine to ask
        return False


def reap(records: Iterable[InstanceRecord], grace: float = GRACE_SECONDS) -> int:
    """Stop every listed instance still running; returns how many were found running."""
    processes = [r for r in records if _alive(r)]
    containers = [r for r in records if r.ContainerId]
    for r in processes:
        assert r.Pid is not None
        _signal_group(r.Pid, signal.SIGCONT)  # a stopped (hung) server must be able to act on SIGTERM
        _signal_group(r.Pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(r) for r in processes):
        time.sleep(0.05)
    for r in processes:
        if _alive(r):
            assert r.Pid is not None
            _signal_group(r.Pid, signal.SIGKILL)
    removed = sum(1 for r in containers if r.ContainerId is not None and _remove_container(r.ContainerId))
    return len(processes) + removed


def tagged_processes(tag: str) -> list[int]:
    """Processes whose environment carries ``tag`` (every model server a control process started, its
    workers included, even one whose start was still under way)."""
    try:
        import psutil
    except ImportError:
        return []
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(TAG_ENV) == tag:
                found.append(process.pid)
        except (psutil.Error, OSError):
            continue
    return found


def reap_tagged(tag: str | None, grace: float = GRACE_SECONDS) -> int:
    if not tag:
        return 0
    pids = tagged_processes(tag)
    for pid in pids:
        for sig in (signal.SIGCONT, signal.SIGTERM):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and tagged_processes(tag):
        time.sleep(0.1)
    for pid in tagged_processes(tag):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def start_watchdog(instances_path: Path, tag: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start the watchdog; returns it and the pipe's write end, which the caller keeps open for life."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops.hosting.reaper", str(instances_path), str(read_end), tag],
        pass_fds=(read_end,),
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C meant for the control process must not kill the watchdog first
    )
    os.close(read_end)
    os.set_inheritable(write_end, False)
    return proc, write_end


def main(argv: list[str]) -> int:
    path, fd, tag = Path(argv[0]), int(argv[1]), argv[2]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    with contextlib.suppress(OSError):
        while os.read(fd, 1024):
            pass
    listing = read_instances(path)
    if listing.ControlPid in (None, parent):
        reap(listing.Instances)
    reap_tagged(tag)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
