"""Building algorithm images with no registry and no network inside the build.

For one algorithm folder (with a Dockerfile and its algorithm.json) the builder
1. makes sure the base image ``local/base:bookworm`` exists (base.py);
2. computes the image's digest: the folder's files, the contract's source, the lock entries the
   folder's requirements.txt reaches, the base image and this recipe's version;
3. stops there when ``mlops/<algorithm>:<AlgorithmVersion>-<digest12>`` already carries that digest
   (incremental: an unchanged algorithm is not rebuilt), else
4. stages a build context: the folder's files, ``wheelhouse/`` (the pinned wheels from the host's
   wheelhouse cache plus ``requirements.txt`` listing them) and ``mlops-wheel/`` (this repo's
   ``mlops`` package, whose ``mlops.contract`` the algorithms import), runs the engine's (legacy)
   builder with labels, and tags the result ``…:<version>-<digest12>`` and ``…:latest``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import parse_wheel_filename

import mlops
from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import MlopsError, ValidationError
from mlops.core.files import sha256_file
from mlops.core.home import Home
from mlops.images.base import ensure_base_image
from mlops.images.wheelhouse import PINNED_FILE, Lock, Wheelhouse, read_requirements
from mlops.runtime.docker_engine import LABEL_ALGORITHM, LABEL_DIGEST, LABEL_VERSION, connect, image_name

if TYPE_CHECKING:
    from docker import DockerClient

PROJECT_DIR = Path(mlops.__file__).resolve().parent.parent
RECIPE_VERSION = "1"  # bump when the way images are built changes: every image is rebuilt
IGNORED_DIRS = {"tests", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "wheelhouse", "mlops-wheel"}
IGNORED_SUFFIXES = (".pyc", ".pyo")
WHEELHOUSE = "wheelhouse"
MLOPS_WHEEL = "mlops-wheel"


class ImageBuildError(MlopsError):
    """The engine could not build an image; the message carries the build's last lines."""


@dataclass(frozen=True)
class BuildResult:
    algorithm: str
    image: str  # mlops/<algorithm>:<version>-<digest12>
    digest: str
    built: bool  # False: it was up to date
    seconds: float
    downloaded: int  # wheels downloaded for this build


@dataclass(frozen=True)
class ImageInfo:
    repository: str
    tag: str
    digest: str  # the content digest label (12 characters), "-" for images without one
    image_id: str
    size: int
    created: datetime


def program_files(folder: Path) -> list[Path]:
    """The files of an algorithm folder that go into its image (tests and caches stay out), relative."""
    out = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part in IGNORED_DIRS for part in relative.parts) or path.suffix in IGNORED_SUFFIXES:
            continue
        if path.is_file() and not path.is_symlink():
            out.append(relative)
    return out


class ImageBuilder:
    def __init__(
        self,
        catalog: AlgorithmCatalog,
        home: Path,
        client: DockerClient | None = None,
        project_dir: Path = PROJECT_DIR,
        log: Callable[[str], None] = print,
        wheelhouse_dir: Path | None = None,
    ) -> None:
        self.catalog = catalog
        self.work_dir = Home(home).build
        self.project_dir = project_dir
        self.log = log
        self._client = client
        self.wheelhouse_dir = wheelhouse_dir or Home(home).wheelhouse
        self._lock: Lock | None = None
        self._mlops_wheel: Path | None = None

    @property
    def client(self) -> DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    @property
    def lock(self) -> Lock:
        if self._lock is None:
            self._lock = Lock.read(self.project_dir / "requirements.lock")
        return self._lock

    def buildable(self) -> list[str]:
        return [n for n in self.catalog.names() if (self.catalog.folder(n) / "Dockerfile").is_file()]

    # -- what an image is made of --------------------------------------------------------------
    def digest(self, algorithm: str, base_id: str) -> str:
        folder = self.catalog.folder(algorithm)
        requirements = read_requirements(folder / "requirements.txt", self.lock)
        contract = self.project_dir / "mlops" / "contract"
        inputs = {
            "recipe": RECIPE_VERSION,
            "base": base_id,
            "files": [[str(p), os.access(folder / p, os.X_OK), sha256_file(folder / p)] for p in program_files(folder)],
            "contract": [[str(p), sha256_file(contract / p)] for p in program_files(contract) if p.suffix == ".py"],
            "pins": [str(p) for p in self.lock.closure(str(r.name) for r in requirements)],
        }
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()

    # -- building ------------------------------------------------------------------------------
    def build(self, names: list[str] | None = None, force: bool = False) -> list[BuildResult]:
        """Build the named algorithms (default: every one with a Dockerfile), skipping unchanged ones."""
        chosen = names or self.buildable()
        for name in chosen:
            if not (self.catalog.folder(name) / "Dockerfile").is_file():
                raise ValidationError("algorithm", f"{name} has no Dockerfile in {self.catalog.folder(name)}")
        if not chosen:
            return []
        base_id = ensure_base_image(self.client, self.work_dir, self.log)
        return [self._build_one(name, base_id, force) for name in chosen]

    def _build_one(self, name: str, base_id: str, force: bool) -> BuildResult:
        from docker.errors import ImageNotFound

        started = time.monotonic()
        spec = self.catalog.get(name)
        digest = self.digest(name, base_id)
        repository = image_name(name)
        versioned = f"{repository}:{spec.AlgorithmVersion}-{digest[:12]}"
        if not force:
            try:
                image = self.client.images.get(versioned)
            except ImageNotFound:
                image = None
            if image is not None and (image.labels or {}).get(LABEL_DIGEST) == digest:
                if f"{repository}:latest" not in image.tags:
                    image.tag(repository, "latest")
                return BuildResult(name, versioned, digest, False, time.monotonic() - started, 0)
        wheelhouse = Wheelhouse(self.wheelhouse_dir, self.lock, lambda m: self.log(f"{name}: {m}"))
        context = self._stage_context(name, wheelhouse)
        try:
            self.log(f"{name}: building {versioned}")
            self._docker_build(
                context,
                versioned,
                {LABEL_ALGORITHM: name, LABEL_VERSION: spec.AlgorithmVersion, LABEL_DIGEST: digest},
                self.work_dir / f"{name}.build.log",
            )
        finally:
            shutil.rmtree(context, ignore_errors=True)
        self.client.images.get(versioned).tag(repository, "latest")
        seconds = time.monotonic() - started
        return BuildResult(name, versioned, digest, True, seconds, wheelhouse.downloaded)

    def _stage_context(self, name: str, wheelhouse: Wheelhouse) -> Path:
        folder = self.catalog.folder(name)
        requirements = read_requirements(folder / "requirements.txt", self.lock)
        wheels = wheelhouse.resolve(requirements)
        context = self.work_dir / f"{name}-context"
        shutil.rmtree(context, ignore_errors=True)
        for relative in program_files(folder):
            (context / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / relative, context / relative)
        staged = context / WHEELHOUSE
        staged.mkdir(parents=True)
        pinned = []
        for wheel in wheels:
            _link_or_copy(wheel, staged / wheel.name)
            wheel_name, version, _, _ = parse_wheel_filename(wheel.name)
            pinned.append(f"{wheel_name}=={version}")
        (staged / PINNED_FILE).write_text("".join(f"{p}\n" for p in pinned))
        (context / MLOPS_WHEEL).mkdir()
        shutil.copy2(self.mlops_wheel(), context / MLOPS_WHEEL / self.mlops_wheel().name)
        self.log(f"{name}: staged {len(wheels)} wheel(s) ({wheelhouse.downloaded} downloaded) and the mlops wheel")
        return context

    def mlops_wheel(self) -> Path:
        """A wheel of this repo's mlops package (built once per builder), from a copy of its source."""
        if self._mlops_wheel is not None:
            return self._mlops_wheel
        if not (self.project_dir / "pyproject.toml").is_file():
            raise ImageBuildError(f"{self.project_dir} holds no pyproject.toml: build images from a source checkout")
        out = self.work_dir / "mlops-wheel"
        shutil.rmtree(out, ignore_errors=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix="mlops-src-") as tmp:
            source = Path(tmp)
            shutil.copy2(self.project_dir / "pyproject.toml", source / "pyproject.toml")
            if (self.project_dir / "README.md").is_file():
                shutil.copy2(self.project_dir / "README.md", source / "README.md")
            shutil.copytree(
                self.project_dir / "mlops", source / "mlops", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
            done = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), tmp],
                capture_output=True,
                text=True,
            )
        wheels = sorted(out.glob("mlops-*.whl"))
        if done.returncode != 0 or not wheels:
            raise ImageBuildError(f"could not build the mlops wheel:\n{done.stderr.strip()[-2000:]}")
        self._mlops_wheel = wheels[0]
        return self._mlops_wheel

    def _docker_build(self, context: Path, tag: str, labels: dict[str, str], log_file: Path) -> None:
        from docker.errors import APIError

        lines: list[str] = []
        try:
            with open(log_file, "w", buffering=1) as log:
                for item in self.client.api.build(
                    path=str(context), tag=tag, labels=labels, rm=True, forcerm=True, pull=False, decode=True
                ):
                    text = str(item.get("stream") or item.get("status") or "")
                    if text:
                        log.write(text)
                        lines.extend(text.splitlines())
                        if text.startswith("Step "):
                            self.log(f"  {text.strip()[:150]}")
                    if "error" in item:
                        detail = item.get("errorDetail", {}).get("message") or item["error"]
                        log.write(f"ERROR: {detail}\n")
                        tail = "\n  ".join(line for line in lines[-25:] if line.strip())
                        raise ImageBuildError(f"building {tag} failed: {detail}\n  {tail}\n(full log: {log_file})")
        except APIError as e:
            raise ImageBuildError(f"building {tag} failed: {e.explanation} (full log: {log_file})") from None

    # -- listing -------------------------------------------------------------------------------
    def list_images(self) -> list[ImageInfo]:
        out = []
        for image in self.client.images.list(filters={"label": LABEL_ALGORITHM}):
            attrs = image.attrs
            created = datetime.fromisoformat(str(attrs["Created"])[:19]).replace(tzinfo=UTC)
            for reference in image.tags:
                repository, _, tag = reference.rpartition(":")
                out.append(
                    ImageInfo(
                        repository=repository,
                        tag=tag,
                        digest=(image.labels.get(LABEL_DIGEST) or "-")[:12],
                        image_id=image.short_id.removeprefix("sha256:"),
                        size=int(attrs.get("Size") or 0),
                        created=created,
                    )
                )
        return sorted(out, key=lambda i: (i.repository, i.tag != "latest", i.tag))


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
