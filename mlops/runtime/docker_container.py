"""The supervisor's side of the Docker runtime: ``docker run IMAGE train`` on the local engine, through the
Docker SDK for Python, and the supervisor's handle on that container (an executor.TrainingProcess).

The job's own /opt/ml folder (staged by the per-job supervisor exactly as for the local process
runtime) is bound to /opt/ml in the container, so config files, channels (Pipe mode FIFOs included),
the model and the failure file cross the boundary as plain files; its input/data folder is bound
again, read-only, over /opt/ml/input/data. ResourceConfig's Cpus and MemoryMiB
become the container's CPU quota and memory limit (no swap), EnableNetworkIsolation gives it no
network at all, and the job's Environment is its whole environment (the host's is not inherited).
Stopping sends SIGTERM (to ``train`` itself: the engine's init is PID 1) and SIGKILL after the grace
period. Containers carry the job's name as a label and are removed when the job ends.

The caller's side (DockerRuntime: resolving the image, describing, removing orphans) is docker.py; the
model-server half docker_server.py; connecting and naming images docker_engine.py.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.contract.failure import FailureFileError, write_failure
from mlops.contract.layout import Layout
from mlops.core.training import TrainingJobRequest
from mlops.runtime.docker_engine import LABEL_JOB, connect
from mlops.runtime.launch import TrainingLaunch

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

LABEL_JOB_FOLDER = "mlops.training-job-folder"
CONTAINER_ROOT = "/opt/ml"
CONTAINER_LAYOUT = Layout(Path(CONTAINER_ROOT))
# Exit codes a shell or the engine's init gives when the command itself could not be run.
NOT_RUNNABLE = {126: "is not executable", 127: "was not found on the image's PATH"}


class DockerTrainingProcess:
    """The supervisor's handle on one training container (see executor.TrainingProcess)."""

    def __init__(self, client: DockerClient, container: Container, image: str, layout: Layout) -> None:
        self.client = client
        self.container = container
        self.image = image
        self.layout = layout
        self._code: int | None = None
        self._done = threading.Event()
        self._waiter = threading.Thread(target=self._wait, name="container-wait", daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        code = 255
        lost: str | None = None
        try:
            result = self.container.wait()  # no timeout: a job may run for days
            code = int(result.get("StatusCode", 255))
            self.container.reload()
            if self.container.attrs.get("State", {}).get("OOMKilled"):
                code = 137  # the supervisor reports 137 as "killed (out of memory?)"
        except Exception as e:
            lost = f"InternalServerError: lost track of container {self.container.short_id} of image {self.image}: {e}"
        finally:
            # whatever the container left at the failure file's name, the supervisor judges it
            with contextlib.suppress(FailureFileError, OSError):
                if not os.path.lexists(self.layout.failure_file):
                    if lost:
                        write_failure(self.layout, lost)
                    elif code in NOT_RUNNABLE:
                        write_failure(
                            self.layout,
                            f"ClientError: image {self.image} does not follow the SageMaker container contract: "
                            f"its `train` command {NOT_RUNNABLE[code]} (exit {code})",
                        )
            self._code = code
            self._done.set()

    def lines(self) -> Iterator[str]:
        pending = b""
        try:
            for chunk in self.container.logs(stream=True, follow=True, stdout=True, stderr=True):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.decode("utf-8", errors="replace") + "\n"
        except Exception as e:  # the engine went away: the exit code tells the rest
            yield f"[mlops] the container's log stream ended early: {e}\n"
        if pending:
            yield pending.decode("utf-8", errors="replace") + "\n"

    def poll(self) -> int | None:
        return self._code if self._done.is_set() else None

    def _signal(self, sig: str) -> None:
        from docker.errors import APIError, NotFound

        with contextlib.suppress(NotFound, APIError):  # already gone or not running any more
            self.container.kill(signal=sig)

    def terminate(self) -> None:
        self._signal("SIGTERM")

    def kill(self) -> None:
        self._signal("SIGKILL")

    def cleanup(self) -> None:
        from docker.errors import APIError, NotFound

        self._done.wait(timeout=30)
        with contextlib.suppress(NotFound, APIError):
            self.container.remove(force=True)
        self.client.close()


def container_environment(request: TrainingJobRequest) -> dict[str, str]:
    env = {**request.Environment, "PYTHONUNBUFFERED": "1"}
    cpus = request.ResourceConfig.Cpus
    if cpus:
        env.setdefault("OMP_NUM_THREADS", str(max(1, int(cpus))))
    return env


def host_user() -> str | None:
    """Run as the host's user (so the job folder stays theirs) unless that is root: then the image's."""
    uid = os.getuid()
    return None if uid == 0 else f"{uid}:{os.getgid()}"


def start_container(
    launch: TrainingLaunch, layout: Layout, request: TrainingJobRequest, log: Path
) -> DockerTrainingProcess:
    """The executor of runtime "docker" (see table.py): create, then start ``train``."""
    from docker.errors import APIError

    target = launch.image()
    client = connect()
    image = target.image
    resources = request.ResourceConfig
    options: dict[str, Any] = {
        "command": ["train"],
        "detach": True,
        "init": True,
        "environment": container_environment(request),
        "volumes": {
            str(layout.root.resolve()): {"bind": CONTAINER_ROOT, "mode": "rw"},
            # the channels (files and Pipe mode FIFOs) are read-only: the container can neither change a
            # dataset version's data nor put anything in place of the next FIFO the supervisor opens
            str(layout.data_dir.resolve()): {"bind": str(CONTAINER_LAYOUT.data_dir), "mode": "ro"},
        },
        "network_mode": "none" if request.EnableNetworkIsolation else "bridge",
        "labels": {LABEL_JOB: request.TrainingJobName, LABEL_JOB_FOLDER: str(layout.root.parent.parent)},
        "name": f"mlops-train-{request.TrainingJobName[:40]}-{uuid.uuid4().hex[:6]}",
        "user": host_user(),
    }
    if resources.Cpus:
        options["nano_cpus"] = int(resources.Cpus * 1e9)
    if resources.MemoryMiB:
        options["mem_limit"] = f"{resources.MemoryMiB}m"
        options["memswap_limit"] = f"{resources.MemoryMiB}m"
    try:
        container = client.containers.create(target.image_id or image, **options)
    except APIError as e:
        client.close()
        raise RuntimeError(f"the engine refused to create a container of image {image}: {e.explanation}") from None
    try:
        container.start()
    except APIError as e:
        with contextlib.suppress(APIError):
            container.remove(force=True)
        client.close()
        explanation = str(e.explanation or e)
        if "executable file not found" in explanation or "no such file" in explanation:
            raise RuntimeError(
                f"image {image} does not follow the SageMaker container contract: it has no `train` "
                f"executable on its PATH ({explanation})"
            ) from None
        raise RuntimeError(f"could not start a container of image {image}: {explanation}") from None
    return DockerTrainingProcess(client, container, image, layout)


def remove_job_containers(client: DockerClient, name: str, job_folder: Path) -> int:
    """Remove whatever containers a job left behind (its supervisor died); returns how many."""
    from docker.errors import APIError, NotFound

    removed = 0
    for container in client.containers.list(all=True, filters={"label": f"{LABEL_JOB}={name}"}):
        if container.labels.get(LABEL_JOB_FOLDER) != str(job_folder):
            continue  # a namesake job of another job store
        with contextlib.suppress(NotFound, APIError):
            container.remove(force=True)
            removed += 1
    return removed
