"""One suite, every runtime of the table (conftest.py): the local process runtime, the Docker runtime and
the test-registered scratch-process runtime (extra_runtime.py) must behave the same
to a caller (statuses, metrics, artifacts, failure reasons, stopping, Pipe mode, durable records),
and so must their model servers."""

from __future__ import annotations

import json
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.core.files import sha256_file
from mlops.core.training import SecondaryStatus, TrainingInputMode, TrainingJob, TrainingJobStatus
from mlops.data.churn_sample import DemoFiles
from mlops.runtime.interface import ModelServerRuntime
from tests.conformance.conftest import STUB, XGB, RuntimeCase, make_request, run_to_end


def _channels(churn: DemoFiles) -> dict[str, str]:
    return {"train": str(churn.train), "validation": str(churn.validation)}


def _wait_for(case: RuntimeCase, name: str, status: SecondaryStatus, timeout: float = 60) -> None:
    runtime = case.new()
    deadline = time.monotonic() + timeout
    while (job := runtime.describe_training_job(name)).SecondaryStatus is not status:
        assert not job.TrainingJobStatus.terminal, f"{name} ended early: {job.FailureReason}"
        assert time.monotonic() < deadline, f"{name} never reached {status.value}"
        time.sleep(0.1)


def test_successful_job(runtime_case: RuntimeCase, churn: DemoFiles) -> None:
    runtime = runtime_case.new()
    request = make_request(
        "ok",
        _channels(churn),
        XGB,
        runtime_case.settings.artifacts,
        catalog=runtime.catalog,  # type: ignore[attr-defined]
    )
    seen: list[str] = []
    runtime.create_training_job(request)
    job = runtime.wait("ok", on_change=lambda j: seen.append(j.SecondaryStatus.value), poll_seconds=0.05)
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    assert job.RuntimeName == runtime_case.name
    assert [t.Status for t in job.SecondaryStatusTransitions] == [
        SecondaryStatus.Starting,
        SecondaryStatus.Downloading,
        SecondaryStatus.Training,
        SecondaryStatus.Uploading,
        SecondaryStatus.Completed,
    ]
    assert seen[0] == "Starting" and seen[-1] == "Completed"
    assert all(t.EndTime is not None for t in job.SecondaryStatusTransitions)
    metrics = job.final_metrics
    assert 0.6 < metrics["validation:auc"] <= 1.0
    assert {"train:auc", "train:logloss", "validation:logloss", "validation:error"} <= set(metrics)
    history = runtime.metric_history("ok")
    assert [m.Step for m in history if m.MetricName == "validation:auc"] == list(range(20))
    assert job.ModelArtifacts is not None
    artifact = Path(job.ModelArtifacts.S3ModelArtifacts)
    assert artifact.name == "model.tar.gz" and artifact.is_file()
    assert job.ModelArtifactSha256 == sha256_file(artifact)
    with tarfile.open(artifact) as tar:
        assert tar.getnames() == ["xgboost-model"]
    assert job.ExitCode == 0 and job.TrainingTimeInSeconds
    log = runtime.log_path("ok").read_text()
    assert "#metric validation:auc=" in log and "train: 2100 rows x 22 features" in log
    assert runtime_case.leftovers("ok") == []
    # the record survives whoever launched the job: a new runtime object describes the same job
    assert runtime_case.new().describe_training_job("ok") == job
    assert [j.TrainingJobName for j in runtime_case.new().list_training_jobs()] == ["ok"]


def test_bad_csv_row_fails_naming_channel_file_and_line(
    runtime_case: RuntimeCase, churn: DemoFiles, tmp_path: Path
) -> None:
    lines = churn.train.read_text().splitlines()
    lines[41] = lines[41].replace(",", ",x", 1)
    bad = tmp_path / "bad" / "part-0.csv"
    bad.parent.mkdir()
    bad.write_text("\n".join(lines) + "\n")
    job = run_to_end(
        runtime_case.new(), make_request("bad-row", {"train": str(bad.parent)}, XGB, runtime_case.settings.artifacts)
    )
    assert job.TrainingJobStatus is TrainingJobStatus.Failed and job.SecondaryStatus is SecondaryStatus.Failed
    assert job.FailureReason is not None
    assert job.FailureReason.startswith("AlgorithmError: channel 'train', file train/part-0.csv, line 42: ")
    assert job.ModelArtifacts is None and not list(Path(runtime_case.settings.artifacts).rglob("model.tar.gz"))
    assert job.ExitCode not in (None, 0)
    assert runtime_case.leftovers("bad-row") == []


def test_missing_required_channel_fails_naming_it(runtime_case: RuntimeCase, churn: DemoFiles) -> None:
    request = make_request("no-train", {"validation": str(churn.validation)}, XGB, runtime_case.settings.artifacts)
    job = run_to_end(runtime_case.new(), request)
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    assert "channel 'train' is required" in (job.FailureReason or "")
    assert job.ModelArtifacts is None


def test_pipe_mode(runtime_case: RuntimeCase, churn: DemoFiles) -> None:
    runtime = runtime_case.new()
    request = make_request(
        "piped",
        _channels(churn),
        XGB,
        runtime_case.settings.artifacts,
        input_mode=TrainingInputMode.Pipe,
        catalog=runtime.catalog,  # type: ignore[attr-defined]
    )
    job = run_to_end(runtime, request)
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    assert 0.6 < job.final_metrics["validation:auc"] <= 1.0
    assert job.ModelArtifacts is not None
    data = runtime_case.settings.jobs_dir / "piped" / "opt" / "ml" / "input" / "data"
    assert (data / "train_0").is_fifo() and not (data / "train").exists()


def test_stop_sends_sigterm(runtime_case: RuntimeCase, churn: DemoFiles) -> None:
    """xgboost dies on SIGTERM at once: the job is Stopped well within the grace period."""
    runtime = runtime_case.new()
    hp = {**XGB, "num_round": "100000"}
    runtime.create_training_job(make_request("stop-me", _channels(churn), hp, runtime_case.settings.artifacts))
    _wait_for(runtime_case, "stop-me", SecondaryStatus.Training)
    time.sleep(1.0)
    asked = time.monotonic()
    assert runtime.stop_training_job("stop-me").TrainingJobStatus in (
        TrainingJobStatus.InProgress,
        TrainingJobStatus.Stopping,
    )
    job = runtime.wait("stop-me", poll_seconds=0.05)
    took = time.monotonic() - asked
    assert job.TrainingJobStatus is TrainingJobStatus.Stopped and job.SecondaryStatus is SecondaryStatus.Stopped
    assert SecondaryStatus.Stopping in [t.Status for t in job.SecondaryStatusTransitions]
    assert took < 10, f"stopping took {took:.1f} s"
    assert runtime_case.leftovers("stop-me") == []


def test_stop_kills_after_the_grace_period(runtime_case: RuntimeCase) -> None:
    """An algorithm that ignores SIGTERM gets SIGKILL once the grace period is over."""
    runtime = runtime_case.new()
    request = make_request("stubborn", {}, {}, runtime_case.settings.artifacts, algorithm=STUB)
    runtime.create_training_job(request)
    _wait_for(runtime_case, "stubborn", SecondaryStatus.Training)
    deadline = time.monotonic() + 30
    log = runtime.log_path("stubborn")
    while not log.exists() or "train:progress" not in log.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    asked = time.monotonic()
    runtime.stop_training_job("stubborn")
    job = runtime.wait("stubborn", poll_seconds=0.05)
    took = time.monotonic() - asked
    assert job.TrainingJobStatus is TrainingJobStatus.Stopped
    assert runtime_case.settings.stop_grace_seconds <= took < runtime_case.settings.stop_grace_seconds + 10
    assert "ignoring SIGTERM" in runtime.log_path("stubborn").read_text()
    assert runtime_case.leftovers("stubborn") == []


def test_seeded_artifacts_are_byte_identical_across_runs_and_runtimes(
    runtime_case: RuntimeCase, churn: DemoFiles, trained_model: TrainingJob
) -> None:
    """The same seeded job gives the same model.tar.gz bytes twice here and as on the local runtime."""
    runtime = runtime_case.new()
    digests = []
    for run in range(2):
        request = make_request(f"seeded-{run}", _channels(churn), {**XGB, "seed": "7"}, runtime_case.settings.artifacts)
        job = run_to_end(runtime, request)
        assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
        digests.append(job.ModelArtifactSha256)
    assert digests[0] == digests[1] == trained_model.ModelArtifactSha256


# -- model servers ---------------------------------------------------------------------------------


def _post_csv(url: str, body: bytes) -> dict[str, list[dict[str, float]]]:
    request = urllib.request.Request(
        url + "/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": "text/csv", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read())  # type: ignore[no-any-return]


def _server_leftovers(server_runtime: ModelServerRuntime, pid: int | None, container_id: str | None) -> list[str]:
    out = []
    if pid is not None:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(f"process {pid}")
        except FileNotFoundError:
            pass
    if container_id is not None:
        from mlops.runtime.docker_engine import connect

        client = connect()
        try:
            out += [c.name for c in client.containers.list(all=True) if c.id == container_id]
        finally:
            client.close()
    return out


def test_model_server_answers_and_stops(
    server_runtime: ModelServerRuntime, trained_model: TrainingJob, churn: DemoFiles
) -> None:
    assert trained_model.ModelArtifacts is not None
    server = server_runtime.start_server(
        "xgboost", trained_model.ModelArtifacts.S3ModelArtifacts, trained_model.ModelArtifactSha256
    )
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "/ping", timeout=2) as response:
            assert response.status == 200
        rows = [line.split(",", 1)[1] for line in churn.test.read_text().splitlines()[:50]]
        answer = _post_csv(server.url, "\n".join(rows).encode())
        scores = [p["score"] for p in answer["predictions"]]
        assert len(scores) == 50 and all(0.0 <= s <= 1.0 for s in scores)
    finally:
        server_runtime.stop_server(server)
    assert _server_leftovers(server_runtime, server.pid, server.container_id) == []


def test_model_server_refuses_a_model_whose_sha256_does_not_match(
    server_runtime: ModelServerRuntime, trained_model: TrainingJob, tmp_path: Path
) -> None:
    assert trained_model.ModelArtifacts is not None
    with pytest.raises(ValidationError, match="does not match the recorded"):
        server_runtime.start_server("xgboost", trained_model.ModelArtifacts.S3ModelArtifacts, "0" * 64)
    servers = tmp_path / "servers"
    assert not list(servers.rglob("xgboost-model")), "the refused model was unpacked"


def test_model_server_refuses_a_model_without_a_sha256_and_starts_nothing(
    server_runtime: ModelServerRuntime, trained_model: TrainingJob, tmp_path: Path
) -> None:
    assert trained_model.ModelArtifacts is not None
    try:
        server = server_runtime.start_server(
            "xgboost",
            trained_model.ModelArtifacts.S3ModelArtifacts,
            None,  # type: ignore[arg-type]  # what a caller holding an old record without one would pass
        )
    except ValidationError as e:
        assert "no sha256 is recorded" in str(e) and "unchecked" in str(e)
    else:
        server_runtime.stop_server(server)
        pytest.fail("a model server was started on a model whose sha256 is unknown")
    servers = tmp_path / "servers"
    assert not list(servers.rglob("xgboost-model")), "the unchecked model was unpacked"
    assert not list(servers.rglob("server.log")), "a server process was started"
    instances = {p.name for p in servers.iterdir()} if servers.is_dir() else set()
    assert _server_containers(instances) == []


def _server_containers(instance_ids: set[str]) -> list[str]:
    """Containers (any state) the Docker runtime made for these instance folders; none without an engine."""
    if not instance_ids:
        return []
    from mlops.runtime.docker_engine import LABEL_SERVER, connect

    client = connect()
    try:
        return [
            str(c.name)
            for c in client.containers.list(all=True, filters={"label": LABEL_SERVER})
            if c.labels.get(LABEL_SERVER) in instance_ids
        ]
    finally:
        client.close()
