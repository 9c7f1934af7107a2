"""Model servers as containers: ``docker run IMAGE serve`` with the (sha256-checked, unpacked) model
bound read-only at /opt/ml/model and port 8080 published on 127.0.0.1 only, at a port the engine
picks. Ready when GET /ping answers 200 (within 4 minutes, each ping within 2 s, as SageMaker
checks); stopped with SIGTERM, SIGKILL after 30 s, and removed, its log kept beside the model."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.files import PRIVATE_FOLDER_MODE, private_opener
from mlops.runtime.docker_engine import LABEL_SERVER, connect, default_image, find_image
from mlops.runtime.health import STARTUP_TIMEOUT_SECONDS, ServerStartError, tail, wait_until_healthy
from mlops.runtime.interface import ModelServer
from mlops.runtime.local_server import fetch_model

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

CONTAINER_PORT = "8080/tcp"
STOP_GRACE_SECONDS = 30


class DockerModelServerRuntime:
    """``algorithm`` names a catalog algorithm (its image is ``mlops/<algorithm>:latest``) or, when it
    holds a ``/`` or a ``:``, any image that follows the contract."""

    def __init__(
        self,
        servers_dir: Path,
        catalog: AlgorithmCatalog,
        workers: int = 1,
        startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
    ) -> None:
        self.servers_dir = servers_dir
        self.catalog = catalog
        self.workers = workers
        self.startup_timeout = startup_timeout

    def image_of(self, algorithm: str) -> str:
        if "/" in algorithm or ":" in algorithm:
            return algorithm
        self.catalog.folder(algorithm)  # a clear "algorithm not found" before anything else
        return default_image(algorithm)

    def start_server(
        self, algorithm: str, model_data: str, model_sha256: str, environment: dict[str, str] | None = None
    ) -> ModelServer:
        image = self.image_of(algorithm)
        client = connect()
        try:
            image_id = str(find_image(client, image).id)
            instance_id = f"{image.rsplit('/', 1)[-1].split(':', 1)[0]}-{uuid.uuid4().hex[:8]}"
            folder = (self.servers_dir / instance_id).resolve()
            folder.mkdir(PRIVATE_FOLDER_MODE, parents=True)  # the model inside is bound into the container
            try:
                layout = fetch_model(model_data, model_sha256, folder)
                return self._run(client, image, image_id, instance_id, layout.model_dir, environment)
            except BaseException:
                shutil.rmtree(folder / "opt", ignore_errors=True)
                raise
        finally:
            client.close()

    def _run(
        self,
        client: DockerClient,
        image: str,
        image_id: str,
        instance_id: str,
        model_dir: Path,
        environment: dict[str, str] | None,
    ) -> ModelServer:
        from docker.errors import APIError

        env = {
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(self.workers),
            **(environment or {}),
            "SAGEMAKER_BIND_TO_PORT": "8080",
            "MLOPS_BIND_HOST": "0.0.0.0",  # inside the container; published on the host's loopback only
            "PYTHONUNBUFFERED": "1",
        }
        try:
            container = client.containers.create(
                image_id,
                command=["serve"],
                detach=True,
                init=True,
                environment=env,
                volumes={str(model_dir): {"bind": "/opt/ml/model", "mode": "ro"}},
                ports={CONTAINER_PORT: ("127.0.0.1", None)},
                labels={LABEL_SERVER: instance_id},
                name=f"mlops-serve-{instance_id}",
            )
        except APIError as e:
            raise ServerStartError(
                f"the engine refused to create a container of image {image}: {e.explanation}"
            ) from None
        describe = f"`serve` of image {image} (the contract: answer GET /ping on port 8080)"
        try:
            container.start()
            container.reload()
            binding = (container.attrs["NetworkSettings"]["Ports"] or {}).get(CONTAINER_PORT) or []
            if not binding and not _running(container):  # it ended at once: no ports to publish
                raise ServerStartError(
                    f"{describe} exited before answering GET /ping{_exit_note(container)}.\n{_log_tail(container)}"
                )
            if not binding:
                raise ServerStartError(f"image {image}: the engine published no port for {CONTAINER_PORT}")
            server = ModelServer(
                instance_id=instance_id,
                url=f"http://127.0.0.1:{binding[0]['HostPort']}",
                container_id=str(container.id),
            )
            wait_until_healthy(
                server.url,
                lambda: _running(container),
                describe,
                lambda: _log_tail(container),
                timeout=self.startup_timeout,
            )
        except APIError as e:
            _remove(container)
            raise ServerStartError(
                f"image {image} does not follow the SageMaker container contract: could not start `serve` "
                f"({e.explanation})"
            ) from None
        except BaseException:
            _remove(container)
            raise
        return server

    def stop_server(self, server: ModelServer) -> None:
        folder = self.servers_dir / server.instance_id
        if server.container_id:
            from docker.errors import NotFound

            client = connect()
            try:
                container = client.containers.get(server.container_id)
                with contextlib.suppress(Exception):
                    container.stop(timeout=STOP_GRACE_SECONDS)
                with contextlib.suppress(Exception):
                    logs = container.logs()
                    with open(folder / "server.log", "wb", opener=private_opener) as log:
                        log.write(logs)
                _remove(container)
            except NotFound:
                pass
            finally:
                client.close()
        shutil.rmtree(folder / "opt", ignore_errors=True)


def _running(container: Container) -> bool:
    try:
        container.reload()
    except Exception:
        return False
    return str(container.status) in ("created", "running")


def _log_tail(container: Container) -> str:
    try:
        return tail(container.logs(tail=40).decode("utf-8", errors="replace"))
    except Exception as e:
        return f"(the container's log could not be read: {e})"


def _exit_note(container: Container) -> str:
    code = (container.attrs.get("State") or {}).get("ExitCode")
    if code == 127:
        return " (exit 127: `serve` was not found on the image's PATH)"
    if code == 126:
        return " (exit 126: `serve` is not executable)"
    return f" (exit {code})" if code is not None else ""


def _remove(container: Container) -> None:
    with contextlib.suppress(Exception):
        container.remove(force=True)
