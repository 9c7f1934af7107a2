"""The launch record (launch.json) is written and read through ``TrainingLaunch``: a broken or hostile
record ends the job Failed with a reason naming the file and the field, the job's supervisor never
tracebacks, and ``train`` never starts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.training import AlgorithmSpecification, OutputDataConfig, TrainingJobRequest, TrainingJobStatus
from mlops.runtime.launch import LAUNCH_FILE, AlgorithmFolder, ContainerImage, LaunchRecordError, TrainingLaunch
from mlops.runtime.local_process import LocalProcessRuntime

TRAIN = "#!/usr/bin/env python3\nfrom pathlib import Path\n(Path(__file__).parent / 'trained').write_text('x')\n"
SPEC = {
    "AlgorithmName": "marker",
    "TrainingSpecification": {},
    "InferenceSpecification": {"SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
}


def _valid(folder: Path) -> dict[str, object]:
    return {
        "runtime": "local",
        "executor": "mlops.runtime.executor:start_local",
        "stop_grace_seconds": 2.0,
        "python": sys.executable,
        "target": {"kind": "algorithm-folder", "algorithm_folder": str(folder)},
    }


class _Written:
    """Stands in for the TrainingLaunch the runtime would write: writes these bytes instead."""

    def __init__(self, text: str) -> None:
        self.text = text

    def write(self, path: Path) -> None:
        path.write_text(self.text)


class _RuntimeWritingThis(LocalProcessRuntime):
    def __init__(self, jobs_dir: Path, catalog: AlgorithmCatalog, text: str) -> None:
        super().__init__(jobs_dir, catalog, 2.0)
        self.text = text

    def launch_record(self, request: TrainingJobRequest) -> TrainingLaunch:
        return _Written(self.text)  # type: ignore[return-value]


@pytest.fixture
def algorithm(tmp_path: Path) -> Path:
    folder = tmp_path / "algorithms" / "marker"
    folder.mkdir(parents=True)
    (folder / "algorithm.json").write_text(json.dumps(SPEC))
    (folder / "train").write_text(TRAIN)
    (folder / "train").chmod(0o755)
    return folder


def _hostile(algorithm: Path, broken: dict[str, object]) -> str:
    return json.dumps({**_valid(algorithm), **broken})


CASES = {
    "grace-not-a-number": (lambda a: _hostile(a, {"stop_grace_seconds": "soon"}), "field 'stop_grace_seconds'"),
    "grace-negative": (lambda a: _hostile(a, {"stop_grace_seconds": -1}), "field 'stop_grace_seconds'"),
    "not-json": (lambda a: "{runtime: local", "is not JSON"),
    "executor-a-file": (lambda a: _hostile(a, {"executor": "/tmp/evil.py:run"}), "field 'executor'"),
    "executor-newline": (lambda a: _hostile(a, {"executor": "os:system\n"}), "field 'executor'"),
    "executor-missing-module": (
        lambda a: _hostile(a, {"executor": "mlops.runtime.no_such_module:start"}),
        "field 'executor': could not load mlops.runtime.no_such_module:start: ModuleNotFoundError",
    ),
    "executor-missing-attribute": (
        lambda a: _hostile(a, {"executor": "mlops.runtime.executor:no_such_function"}),
        "field 'executor': could not load",
    ),
    "executor-not-callable": (
        lambda a: _hostile(a, {"executor": "mlops.runtime.launch:LAUNCH_FILE"}),
        "it is not callable",
    ),
    "unknown-field": (lambda a: _hostile(a, {"shell": "rm -rf ~"}), "field 'shell'"),
    "unknown-target": (lambda a: _hostile(a, {"target": {"kind": "ssh", "host": "x"}}), "field 'target'"),
    "target-missing-folder": (
        lambda a: _hostile(a, {"target": {"kind": "algorithm-folder"}}),
        "field 'target.algorithm-folder.algorithm_folder': Field required",
    ),
    "a-list": (lambda a: "[]", "field '(the record)'"),
    "no-runtime": (lambda a: json.dumps({k: v for k, v in _valid(a).items() if k != "runtime"}), "field 'runtime'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_launch_record_fails_the_job_naming_the_file_and_the_field(
    tmp_path: Path, algorithm: Path, case: str
) -> None:
    make, expected = CASES[case]
    jobs = tmp_path / "jobs"
    runtime = _RuntimeWritingThis(jobs, AlgorithmCatalog(algorithm.parent), make(algorithm))
    request = TrainingJobRequest(
        TrainingJobName="job",
        AlgorithmSpecification=AlgorithmSpecification(AlgorithmName="marker"),
        OutputDataConfig=OutputDataConfig(S3OutputPath=str(tmp_path / "out")),
    )
    runtime.create_training_job(request)
    job = runtime.wait("job", poll_seconds=0.05)
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    reason = job.FailureReason or ""
    assert reason.startswith(f"InternalServerError: the launch record {(jobs / 'job' / LAUNCH_FILE).resolve()}"), reason
    assert expected in reason, reason
    assert "supervisor process died" not in reason
    assert "Traceback" not in (jobs / "job" / "supervisor.log").read_text()
    assert not (algorithm / "trained").exists(), "train ran"


def test_the_launch_record_round_trips_through_the_model(tmp_path: Path) -> None:
    for target in (AlgorithmFolder(algorithm_folder="/algorithms/xgboost"), ContainerImage(image="x:latest")):
        launch = TrainingLaunch(
            runtime="docker", executor="a.b:c", stop_grace_seconds=1.5, python="/usr/bin/python3", target=target
        )
        launch.write(tmp_path / LAUNCH_FILE)
        assert TrainingLaunch.read(tmp_path / LAUNCH_FILE) == launch


def test_an_executor_is_given_the_kind_of_target_it_runs(tmp_path: Path) -> None:
    launch = TrainingLaunch(
        runtime="docker", executor="a.b:c", stop_grace_seconds=1, python="python3", target=ContainerImage(image="x")
    )
    assert launch.image().image == "x"
    with pytest.raises(LaunchRecordError, match="runs an algorithm folder; its launch record names a 'image' target"):
        launch.folder()


def test_a_launch_record_that_is_not_a_regular_file_or_is_huge_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.json").write_text("{}")
    (tmp_path / "linked.json").symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(LaunchRecordError, match="could not be opened"):
        TrainingLaunch.read(tmp_path / "linked.json")
    (tmp_path / "huge.json").write_text(" " * (65 * 1024))
    with pytest.raises(LaunchRecordError, match="larger than 65536 bytes"):
        TrainingLaunch.read(tmp_path / "huge.json")
    with pytest.raises(LaunchRecordError, match="does not exist"):
        TrainingLaunch.read(tmp_path / "missing.json")
