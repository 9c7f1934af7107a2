"""The local Docker engine as the runtimes and the image builder see it: one way to connect (with one
clear message when no engine answers), the names and labels of the platform's images and containers,
and finding an algorithm's image."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mlops.core.errors import NotFoundError, RuntimeUnavailableError, ValidationError

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image

IMAGE_PREFIX = "mlops/"
BASE_IMAGE = "local/base:bookworm"

# Labels on images built by `mlops images build`.
LABEL_ALGORITHM = "mlops.algorithm"
LABEL_VERSION = "mlops.algorithm-version"
LABEL_DIGEST = "mlops.digest"
# Labels on containers the runtimes start, so they can be found (and removed) by job or server.
LABEL_JOB = "mlops.training-job"
LABEL_SERVER = "mlops.model-server"

START_HINT = "Start one with `sudo infra/docker/ensure-engine.sh` (or `make engine`)."


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(timeout: float = 60.0) -> DockerClient:
    """A client of the engine named by DOCKER_HOST (default: the local socket), checked with a ping.

    Raises RuntimeUnavailableError, never the SDK's own exceptions, when no engine answers."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - the SDK is a locked dependency
        raise RuntimeUnavailableError("the Docker SDK for Python is not installed (pip install docker)") from None
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except (DockerException, OSError) as e:
        raise RuntimeUnavailableError(
            f"no Docker engine answers at {engine_address()} ({_reason(e)}). {START_HINT}"
        ) from None
    return client


def _reason(error: Exception) -> str:
    text = str(error)
    if "FileNotFoundError" in text or "No such file" in text:
        return "no such socket"
    if "PermissionError" in text or "Permission denied" in text:
        return "permission denied on the socket: run as root or join the docker group"
    if "refused" in text or "Errno 111" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return text.split(": ", 1)[-1][:160]


def image_name(algorithm: str) -> str:
    return f"{IMAGE_PREFIX}{algorithm}"


def default_image(algorithm: str) -> str:
    """The image a job or server of a catalog algorithm runs when none is named."""
    return f"{image_name(algorithm)}:latest"


def find_image(client: DockerClient, reference: str, hint: str = "") -> Image:
    """The local image ``reference``; nothing is ever pulled (no registry is assumed to be reachable)."""
    from docker.errors import ImageNotFound

    try:
        return client.images.get(reference)
    except ImageNotFound:
        if not hint and reference.startswith(IMAGE_PREFIX):
            algorithm = reference[len(IMAGE_PREFIX) :].split(":", 1)[0]
            hint = f"Build it with `mlops images build {algorithm}`."
        raise NotFoundError("Docker image", reference, hint or "Build or load it on this engine first.") from None


def image_for(client: DockerClient, algorithm: str | None, image: str | None) -> tuple[str, str]:
    """(reference, image id) of what to run: ``image`` if named, else the algorithm's latest build."""
    if image:
        reference = image
    elif algorithm:
        reference = default_image(algorithm)
    else:
        raise ValidationError("AlgorithmSpecification", "name a TrainingImage or an AlgorithmName")
    found = find_image(client, reference)
    return reference, str(found.id)
