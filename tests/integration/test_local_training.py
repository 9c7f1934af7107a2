"""The local process runtime as a user meets it: good jobs, bad input, crashes, stops, restarts."""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import ValidationError
from mlops.core.training import (
    AlgorithmSpecification,
    Channel,
    DataSource,
    OutputDataConfig,
    S3DataSource,
    SecondaryStatus,
    TrainingJobRequest,
    TrainingJobStatus,
)
from mlops.data.churn_sample import DemoFiles
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.services.training import TrainingInput, build_request, start_training, train
from mlops.settings import Settings
from tests.conftest import FIXTURE_ALGORITHMS
from tests.processes import live_processes_whose_environment

XGB = {"objective": "binary:logistic", "num_round": "20", "max_depth": "3", "eta": "0.3", "nthread": "1"}


def _runtime(settings: Settings, catalog: AlgorithmCatalog | None = None) -> LocalProcessRuntime:
    return LocalProcessRuntime(settings.jobs_dir, catalog or AlgorithmCatalog(settings.algorithms_dir), 5)


def test_xgboost_job_end_to_end(settings: Settings, churn: DemoFiles) -> None:
    runtime = _runtime(settings)
    seen: list[str] = []
    job = train(
        runtime,
        AlgorithmCatalog(settings.algorithms_dir),
        TrainingInput("xgboost", {"train": str(churn.train), "validation": str(churn.validation)}, XGB),
        settings.artifacts,
        on_change=lambda j: seen.append(j.SecondaryStatus.value),
    )
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    assert seen[0] == "Starting" and seen[-1] == "Completed" and "Training" in seen
    assert [t.Status for t in job.SecondaryStatusTransitions] == [
        SecondaryStatus.Starting,
        SecondaryStatus.Downloading,
        SecondaryStatus.Training,
        SecondaryStatus.Uploading,
        SecondaryStatus.Completed,
    ]
    metrics = job.final_metrics
    assert 0.6 < metrics["validation:auc"] <= 1.0 and "train:logloss" in metrics
    history = runtime.metric_history(job.TrainingJobName)
    assert [m.Step for m in history if m.MetricName == "validation:auc"] == list(range(20))
    artifact = Path(job.ModelArtifacts.S3ModelArtifacts)  # type: ignore[union-attr]
    assert artifact.name == "model.tar.gz" and artifact.exists()
    with tarfile.open(artifact) as tar:
        assert tar.getnames() == ["xgboost-model"]
    assert job.TrainingTimeInSeconds and job.TrainingStartTime and job.TrainingEndTime
    # the record survives whoever launched the job: a new runtime object reads the same record
    again = _runtime(settings).describe_training_job(job.TrainingJobName)
    assert again == job
    assert "validation:auc" in _runtime(settings).log_path(job.TrainingJobName).read_text()


@pytest.mark.parametrize(
    ("hp", "needle"),
    [
        (
            {"num_round": "10", "max_depht": "3"},
            "hyperparameter max_depht: unknown to algorithm 'xgboost'; did you mean 'max_depth'?",
        ),
        ({"num_round": "many"}, "hyperparameter num_round: 'many' is not an integer; valid: an integer in [1, 100000]"),
        (
            {"num_round": "10", "subsample": "0"},
            "hyperparameter subsample: 0 is out of range; valid: a number in [0.0001, 1]",
        ),
    ],
)
def test_bad_hyperparameters_refused_before_any_job_starts(settings: Settings, churn: DemoFiles, hp, needle) -> None:  # type: ignore[no-untyped-def]
    runtime = _runtime(settings)
    with pytest.raises(ValidationError) as info:
        start_training(
            runtime,
            AlgorithmCatalog(settings.algorithms_dir),
            TrainingInput("xgboost", {"train": str(churn.train)}, hp),
            settings.artifacts,
        )
    assert needle in str(info.value)
    assert runtime.list_training_jobs() == []


def _request(
    name: str, channels: dict[str, str], hp: dict[str, str], algorithm: str = "xgboost", artifacts: str = "/tmp"
) -> TrainingJobRequest:
    return TrainingJobRequest(
        TrainingJobName=name,
        AlgorithmSpecification=AlgorithmSpecification(AlgorithmName=algorithm),
        HyperParameters=hp,
        InputDataConfig=tuple(
            Channel(ChannelName=c, DataSource=DataSource(S3DataSource=S3DataSource(S3Uri=u)))
            for c, u in channels.items()
        ),
        OutputDataConfig=OutputDataConfig(S3OutputPath=artifacts),
    )


def _run(runtime: LocalProcessRuntime, request: TrainingJobRequest):  # type: ignore[no-untyped-def]
    runtime.create_training_job(request)
    return runtime.wait(request.TrainingJobName)


def test_malformed_row_fails_naming_channel_file_and_line(settings: Settings, churn: DemoFiles, tmp_path: Path) -> None:
    lines = churn.train.read_text().splitlines()
    lines[41] = lines[41].replace(",", ",x", 1)
    bad = tmp_path / "bad" / "part-0.csv"
    bad.parent.mkdir()
    bad.write_text("\n".join(lines) + "\n")
    job = _run(_runtime(settings), _request("bad-row", {"train": str(bad.parent)}, XGB, artifacts=settings.artifacts))
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    assert job.FailureReason.startswith("AlgorithmError: channel 'train', file train/part-0.csv, line 42: ")  # type: ignore[union-attr]
    assert job.ModelArtifacts is None and not list(Path(settings.artifacts).rglob("model.tar.gz"))


def test_empty_channel_fails_naming_the_channel(settings: Settings, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "part-0.csv").write_text("")
    job = _run(_runtime(settings), _request("empty", {"train": str(empty)}, XGB, artifacts=settings.artifacts))
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    assert "channel 'train'" in job.FailureReason and "channel is empty" in job.FailureReason  # type: ignore[operator]
    assert job.ModelArtifacts is None


def test_missing_required_channel_fails_naming_it(settings: Settings, churn: DemoFiles) -> None:
    job = _run(
        _runtime(settings),
        _request("no-train", {"validation": str(churn.validation)}, XGB, artifacts=settings.artifacts),
    )
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    assert "channel 'train' is required" in job.FailureReason  # type: ignore[operator]
    assert job.ModelArtifacts is None


def test_missing_channel_refused_up_front_by_the_service(settings: Settings, churn: DemoFiles) -> None:
    spec = AlgorithmCatalog(settings.algorithms_dir).get("xgboost")
    with pytest.raises(ValidationError, match="channel train: is required"):
        build_request(spec, TrainingInput("xgboost", {"validation": str(churn.validation)}, XGB), settings.artifacts)
    with pytest.raises(ValidationError, match="channel train: .*does-not-exist.csv does not exist"):
        build_request(spec, TrainingInput("xgboost", {"train": "does-not-exist.csv"}, XGB), settings.artifacts)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("kill", "the training process was killed by SIGKILL"),
        ("exit", "the training process exited with status 3"),
    ],
)
def test_crashing_process_fails_with_exit_status_and_keeps_the_log(settings: Settings, mode: str, reason: str) -> None:
    runtime = _runtime(settings, AlgorithmCatalog(FIXTURE_ALGORITHMS))
    job = _run(
        runtime, _request(f"crash-{mode}", {}, {"mode": mode}, algorithm="crasher", artifacts=settings.artifacts)
    )
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    assert reason in job.FailureReason  # type: ignore[operator]
    assert job.ExitCode == (-9 if mode == "kill" else 3)
    assert f"crasher running in mode {mode}" in runtime.log_path(job.TrainingJobName).read_text()
    assert job.final_metrics == {"train:progress": 0.5}


def test_stop_sends_sigterm_and_keeps_what_the_algorithm_saved(settings: Settings) -> None:
    runtime = _runtime(settings, AlgorithmCatalog(FIXTURE_ALGORITHMS))
    runtime.create_training_job(
        _request("sleeper", {}, {"mode": "sleep"}, algorithm="crasher", artifacts=settings.artifacts)
    )
    deadline = time.monotonic() + 30
    while runtime.describe_training_job("sleeper").SecondaryStatus is not SecondaryStatus.Training:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.0)
    runtime.stop_training_job("sleeper")
    job = runtime.wait("sleeper")
    assert job.TrainingJobStatus is TrainingJobStatus.Stopped and job.SecondaryStatus is SecondaryStatus.Stopped
    assert "got SIGTERM, saving" in runtime.log_path("sleeper").read_text()
    assert job.ModelArtifacts is not None  # SageMaker uploads what the algorithm saved before it stopped


def test_max_runtime_stops_the_job(settings: Settings) -> None:
    runtime = _runtime(settings, AlgorithmCatalog(FIXTURE_ALGORITHMS))
    request = _request("timeout", {}, {"mode": "sleep"}, algorithm="crasher", artifacts=settings.artifacts)
    request = request.model_copy(
        update={"StoppingCondition": request.StoppingCondition.model_copy(update={"MaxRuntimeInSeconds": 2})}
    )
    job = _run(runtime, request)
    assert job.TrainingJobStatus is TrainingJobStatus.Stopped
    assert job.SecondaryStatus is SecondaryStatus.MaxRuntimeExceeded


def test_dead_supervisor_marks_the_job_failed(settings: Settings) -> None:
    import os
    import signal

    runtime = _runtime(settings, AlgorithmCatalog(FIXTURE_ALGORITHMS))
    runtime.create_training_job(
        _request("orphan", {}, {"mode": "sleep"}, algorithm="crasher", artifacts=settings.artifacts)
    )
    pid = json.loads((settings.jobs_dir / "orphan" / "supervisor.json").read_text())["pid"]
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not (job := runtime.describe_training_job("orphan")).TrainingJobStatus.terminal:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job.TrainingJobStatus is TrainingJobStatus.Failed and "supervisor process died" in job.FailureReason  # type: ignore[operator]
    deadline = time.monotonic() + 10  # and the algorithm it watched is gone with it: no orphan left running
    folder = str(settings.jobs_dir / "orphan")
    while left := live_processes_whose_environment(lambda env: env.get("MLOPS_CONTRACT_ROOT", "").startswith(folder)):
        assert time.monotonic() < deadline, left
        time.sleep(0.1)
