"""How a supervisor starts the algorithm's ``train``: as a local process here, as a container in
docker_container.py. Both give the supervisor the same small TrainingProcess handle. Which executor a job
uses is the runtime's row in table.py, recorded in the job's launch record (launch.py)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from mlops.contract.layout import ROOT_ENV, Layout
from mlops.core.training import TrainingJobRequest
from mlops.runtime.environment import process_environment
from mlops.runtime.launch import TrainingLaunch


class TrainingProcess(Protocol):
    def lines(self) -> Iterator[str]:
        """The merged stdout/stderr of the algorithm, line by line, until it ends."""
        ...

    def poll(self) -> int | None:
        """The exit code once finished (negative: killed by that signal), else None."""
        ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def cleanup(self) -> None: ...


Executor = Callable[[TrainingLaunch, Layout, TrainingJobRequest, Path], TrainingProcess]
"""(launch record, the job's /opt/ml layout, the request, the job's log) -> the started ``train``."""


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """In a child before exec: be killed when ``parent`` (the supervisor) dies, so a supervisor killed
    with SIGKILL leaves no algorithm running on unwatched (Linux; elsewhere a no-op)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    if ctypes.CDLL(name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return
    if os.getppid() != parent:  # the supervisor died before the request took effect
        os._exit(1)


class LocalTrainingProcess:
    def __init__(self, argv: list[str], cwd: str, env: dict[str, str], memory_mib: int | None) -> None:
        supervisor = os.getpid()

        def before_exec() -> None:
            die_with_parent(supervisor)
            if memory_mib:
                size = memory_mib * 1024 * 1024
                resource.setrlimit(resource.RLIMIT_AS, (size, size))

        self._proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=before_exec,
            text=True,
            bufsize=1,
            errors="replace",
        )

    def lines(self) -> Iterator[str]:
        assert self._proc.stdout is not None
        yield from self._proc.stdout

    def poll(self) -> int | None:
        return self._proc.poll()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)  # the whole group: the algorithm may have children

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def cleanup(self) -> None:
        self._signal(signal.SIGKILL)  # leave no stray grandchildren behind
        if self._proc.stdout:
            self._proc.stdout.close()


def training_environment(request: TrainingJobRequest, layout: Layout) -> dict[str, str]:
    """The allow-listed launcher variables, the job's Environment, the contract root (environment.py)."""
    env = process_environment(request.Environment, {ROOT_ENV: str(layout.root), "PYTHONUNBUFFERED": "1"})
    cpus = request.ResourceConfig.Cpus
    if cpus:
        env.setdefault("OMP_NUM_THREADS", str(max(1, int(cpus))))
    return env


def start_local(launch: TrainingLaunch, layout: Layout, request: TrainingJobRequest, log: Path) -> TrainingProcess:
    """The executor of runtime "local" (see table.py): the algorithm folder's ``train`` as a process."""
    folder = launch.folder()
    return LocalTrainingProcess(
        [launch.python, str(folder / "train")],
        cwd=str(folder),
        env=training_environment(request, layout),
        memory_mib=request.ResourceConfig.MemoryMiB,
    )
