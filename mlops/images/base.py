"""The base image every algorithm image starts FROM: ``local/base:bookworm``, made from Debian's own
packages with mmdebstrap and ``docker import``, because no container registry is assumed reachable.

Debian bookworm's python3 is CPython 3.11, the Python the lock's wheels are built for. The image is
made only when missing, or when it was made with another package list (a label records the list).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.core.errors import MlopsError, RuntimeUnavailableError
from mlops.runtime.docker_engine import BASE_IMAGE

if TYPE_CHECKING:
    from docker import DockerClient

SUITE = "bookworm"
# python3-venv brings the full standard library and ensurepip; libgomp1 is OpenMP for xgboost.
PACKAGES = ("python3-minimal", "python3-venv", "libgomp1")
LABEL_PACKAGES = "mlops.base-packages"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class BaseImageError(MlopsError):
    """The base image could not be made."""


def base_image_id(client: DockerClient) -> str | None:
    """The id of a current base image, or None when it is missing or made with other packages."""
    from docker.errors import ImageNotFound

    try:
        image = client.images.get(BASE_IMAGE)
    except ImageNotFound:
        return None
    if (image.labels or {}).get(LABEL_PACKAGES) != ",".join(PACKAGES):
        return None
    return str(image.id)


def ensure_base_image(client: DockerClient, work_dir: Path, log: Callable[[str], None] = print) -> str:
    """Make ``local/base:bookworm`` unless a current one exists; returns its image id."""
    existing = base_image_id(client)
    if existing:
        return existing
    if shutil.which("mmdebstrap") is None:
        raise RuntimeUnavailableError(
            f"the base image {BASE_IMAGE} is missing and mmdebstrap, which makes it, is not installed. "
            "Install it with `sudo infra/docker/ensure-engine.sh` (or `make engine`)."
        )
    repository, tag = BASE_IMAGE.split(":")
    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"making {BASE_IMAGE} from Debian {SUITE} ({', '.join(PACKAGES)}) with mmdebstrap; about a minute or two")
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="base-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        done = subprocess.run(
            ["mmdebstrap", "--variant=apt", "--include=" + ",".join(PACKAGES), "--quiet", SUITE, str(tarball)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BaseImageError(f"mmdebstrap failed (exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
        client.api.import_image(
            src=str(tarball),
            repository=repository,
            tag=tag,
            changes=[
                f"ENV PATH={DEFAULT_PATH}",
                "ENV LANG=C.UTF-8",
                f"LABEL {LABEL_PACKAGES}={','.join(PACKAGES)}",
                'CMD ["/bin/bash"]',
            ],
        )
    image_id = base_image_id(client)
    if image_id is None:
        raise BaseImageError(f"docker import did not produce {BASE_IMAGE}")
    log(f"made {BASE_IMAGE} in {time.monotonic() - started:.0f} s")
    return image_id
