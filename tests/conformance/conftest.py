"""Fixtures of the runtime conformance suite: every training runtime of the table of runtimes
(mlops/runtime/table.py: "local", "docker", and "scratch-process", which extra_runtime.py registers from
here) and every model-server runtime of the table behind one interface, so the same test runs on each.

Docker parameters need a running engine and the algorithm images. The session fixture ``docker_images``
builds them once, incrementally (a no-op when nothing changed), which is how CI gets them; without an
engine the Docker parameters are skipped with the reason, never passed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import RuntimeUnavailableError
from mlops.core.training import (
    AlgorithmSpecification,
    Channel,
    DataSource,
    OutputDataConfig,
    S3DataSource,
    TrainingInputMode,
    TrainingJob,
    TrainingJobRequest,
)
from mlops.runtime.interface import ModelServerRuntime
from mlops.runtime.supervised import SupervisedRuntime
from mlops.runtime.table import runtime_entry, runtime_names, server_runtime_names
from mlops.settings import Settings, load_settings
from tests.conformance import extra_runtime
from tests.conformance.hostile import HOSTILE, HOSTILE_FILES

REPO = Path(__file__).resolve().parents[2]
STUB = "conformance-stub"
GRACE_SECONDS = 2.0

# A stdlib-only algorithm whose `train` ignores SIGTERM (so stopping must end in SIGKILL) and whose
# `serve` never listens (so readiness must time out). Written to a temporary algorithms folder.
STUB_FILES: dict[str, str] = {
    "algorithm.json": """{
  "AlgorithmName": "conformance-stub",
  "AlgorithmVersion": "1.0",
  "AlgorithmDescription": "Test double: ignores SIGTERM while training; never answers /ping.",
  "TrainingSpecification": {
    "MetricDefinitions": [{"Name": "train:progress", "Regex": "#metric train:progress=([0-9.]+)"}]
  },
  "InferenceSpecification": {"SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
}
""",
    "train": """#!/usr/bin/env python3
import signal
import time

signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))
print("#metric train:progress=0.5 step=1", flush=True)
while True:
    time.sleep(0.1)
""",
    "serve": """#!/usr/bin/env python3
import time

print("serving nothing, never listening", flush=True)
while True:
    time.sleep(0.1)
""",
    "Dockerfile": """FROM local/base:bookworm
COPY algorithm.json train serve /opt/program/
ENV PATH=/opt/program:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONUNBUFFERED=1
WORKDIR /opt/program
""",
}

XGB = {"objective": "binary:logistic", "num_round": "20", "max_depth": "3", "eta": "0.3", "nthread": "1"}


def write_stub(folder: Path, files: dict[str, str] = STUB_FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        path.chmod(0o755 if name in ("train", "serve") else 0o644)
    return folder


def algorithms_folder(root: Path) -> Path:
    """The repo's algorithms (linked) plus the stub and the hostile algorithm, as one catalog folder."""
    root.mkdir(parents=True, exist_ok=True)
    for folder in sorted((REPO / "algorithms").iterdir()):
        if (folder / "algorithm.json").is_file() and not (root / folder.name).exists():
            (root / folder.name).symlink_to(folder, target_is_directory=True)
    write_stub(root / STUB)
    write_stub(root / HOSTILE, HOSTILE_FILES)
    return root


def engine_or_skip() -> Any:
    from mlops.runtime.docker_engine import connect

    try:
        return connect(timeout=20)
    except RuntimeUnavailableError as e:
        pytest.skip(f"no Docker engine: {e}")


def build_images(catalog: AlgorithmCatalog, home: Path, names: list[str]) -> list[Any]:
    """Build (incrementally) the named images, with the developer's wheelhouse cache."""
    from mlops.images.builder import ImageBuilder

    builder = ImageBuilder(catalog, home, wheelhouse_dir=load_settings().home.resolve() / "wheelhouse")
    return builder.build(names)


@pytest.fixture(scope="session")
def conformance_algorithms(tmp_path_factory: pytest.TempPathFactory) -> AlgorithmCatalog:
    return AlgorithmCatalog(algorithms_folder(tmp_path_factory.mktemp("algorithms")))


@pytest.fixture(scope="session")
def docker_images(conformance_algorithms: AlgorithmCatalog, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    engine_or_skip().close()
    return build_images(
        conformance_algorithms, tmp_path_factory.mktemp("image-builds"), ["xgboost", "byoc-example", STUB, HOSTILE]
    )


@dataclass
class RuntimeCase:
    """One training runtime under test, able to make fresh runtime objects over the same job store."""

    name: str
    settings: Settings
    make: Callable[[], SupervisedRuntime]

    def new(self) -> SupervisedRuntime:
        return self.make()

    def leftovers(self, job_name: str) -> list[str]:
        """What of a finished job still runs: its supervisor, or its containers."""
        out = []
        pid_file = self.settings.jobs_dir / job_name / "supervisor.json"
        if pid_file.exists():
            import json

            pid = int(json.loads(pid_file.read_text())["pid"])
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                out.append(f"supervisor {pid}")
        if self.name == "docker":
            from mlops.runtime.docker_container import LABEL_JOB_FOLDER
            from mlops.runtime.docker_engine import LABEL_JOB, connect

            client = connect()
            folder = str(self.settings.jobs_dir.resolve() / job_name)
            try:
                out += [
                    f"container {c.name} ({c.status})"
                    for c in client.containers.list(all=True, filters={"label": f"{LABEL_JOB}={job_name}"})
                    if c.labels.get(LABEL_JOB_FOLDER) == folder
                ]
            finally:
                client.close()
        return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# What a runtime of the table needs before its cases run (the images, for the Docker engine), and the
# options its model servers get here (a first container start on a loaded machine takes a while).
NEEDS = {"docker": "docker_images"}
SERVER_OPTIONS: dict[str, dict[str, Any]] = {"docker": {"startup_timeout": 60}}


def _training_case(name: str, tmp_path: Path, catalog: AlgorithmCatalog, request: pytest.FixtureRequest) -> RuntimeCase:
    settings = Settings(home=tmp_path / "home", algorithms_dir=catalog.root, stop_grace_seconds=GRACE_SECONDS)
    if name in NEEDS:
        request.getfixturevalue(NEEDS[name])
    factory = runtime_entry(name).training_factory()
    return RuntimeCase(name, settings, lambda: factory(settings.jobs_dir, catalog, GRACE_SECONDS))


def _params(names: tuple[str, ...]) -> list[Any]:
    return [pytest.param(name, marks=pytest.mark.docker) if name == "docker" else pytest.param(name) for name in names]


assert extra_runtime.NAME in runtime_names()  # registered through the table by importing it
RUNTIMES = _params(runtime_names())
SERVER_RUNTIMES = _params(server_runtime_names())


@pytest.fixture(params=RUNTIMES)
def runtime_case(
    request: pytest.FixtureRequest, tmp_path: Path, conformance_algorithms: AlgorithmCatalog
) -> Iterator[RuntimeCase]:
    case = _training_case(str(request.param), tmp_path, conformance_algorithms, request)
    yield case
    stop_unfinished(case.new())


def stop_unfinished(runtime: SupervisedRuntime, timeout: float = 30) -> None:
    """A failed test must not leave its jobs (and their containers) running."""
    for job in runtime.list_training_jobs():
        if job.TrainingJobStatus.terminal:
            continue
        with contextlib.suppress(Exception):
            runtime.stop_training_job(job.TrainingJobName)
        deadline = time.monotonic() + timeout
        while not runtime.describe_training_job(job.TrainingJobName).TrainingJobStatus.terminal:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)


@pytest.fixture(params=SERVER_RUNTIMES)
def server_runtime(
    request: pytest.FixtureRequest, tmp_path: Path, conformance_algorithms: AlgorithmCatalog
) -> Iterator[ModelServerRuntime]:
    if request.param in NEEDS:
        request.getfixturevalue(NEEDS[request.param])
    factory: Any = runtime_entry(request.param).server_factory()
    yield factory(tmp_path / "servers", conformance_algorithms, 1, **SERVER_OPTIONS.get(request.param, {}))


def make_request(
    name: str,
    channels: dict[str, str],
    hyperparameters: dict[str, str],
    artifacts: str,
    algorithm: str | None = "xgboost",
    image: str | None = None,
    input_mode: TrainingInputMode = TrainingInputMode.File,
    catalog: AlgorithmCatalog | None = None,
) -> TrainingJobRequest:
    metrics = catalog.get(algorithm).TrainingSpecification.MetricDefinitions if catalog and algorithm else ()
    return TrainingJobRequest(
        TrainingJobName=name,
        AlgorithmSpecification=AlgorithmSpecification(
            AlgorithmName=algorithm, TrainingImage=image, TrainingInputMode=input_mode, MetricDefinitions=metrics
        ),
        HyperParameters=hyperparameters,
        InputDataConfig=tuple(
            Channel(ChannelName=c, DataSource=DataSource(S3DataSource=S3DataSource(S3Uri=str(Path(uri).resolve()))))
            for c, uri in channels.items()
        ),
        OutputDataConfig=OutputDataConfig(S3OutputPath=artifacts),
    )


def run_to_end(runtime: SupervisedRuntime, request: TrainingJobRequest, timeout: float = 180) -> TrainingJob:
    runtime.create_training_job(request)
    deadline = time.monotonic() + timeout
    while not (job := runtime.describe_training_job(request.TrainingJobName)).TrainingJobStatus.terminal:
        assert time.monotonic() < deadline, f"{request.TrainingJobName} still {job.SecondaryStatus.value}"
        time.sleep(0.1)
    return job


@pytest.fixture(scope="session")
def trained_model(
    tmp_path_factory: pytest.TempPathFactory, conformance_algorithms: AlgorithmCatalog, churn: Any
) -> TrainingJob:
    """One seeded xgboost job, trained on the local runtime: the model the server tests serve."""
    from mlops.runtime.local_process import LocalProcessRuntime

    home = tmp_path_factory.mktemp("model-home")
    runtime = LocalProcessRuntime(home / "jobs", conformance_algorithms, GRACE_SECONDS)
    request = make_request(
        "served-model",
        {"train": str(churn.train), "validation": str(churn.validation)},
        {**XGB, "seed": "7"},
        str(home / "artifacts"),
        catalog=conformance_algorithms,
    )
    job = run_to_end(runtime, request)
    assert job.ModelArtifacts is not None, job.FailureReason
    return job
