"""What a hostile algorithm can do to the host through the contract's files and its environment, on
every runtime: nothing. It cannot make the supervisor write through a link planted in place of the
next Pipe mode FIFO, make it read a file of its choosing into FailureReason (or hang on a FIFO, or read
without bound), change a dataset version it was given, see the launcher's secrets, or read a job's
files as another user would."""

from __future__ import annotations

import hashlib
import json
import stat
import tarfile
import urllib.request
from pathlib import Path

import pytest

from mlops.core.files import sha256_file
from mlops.core.training import TrainingInputMode, TrainingJob, TrainingJobStatus
from mlops.runtime.interface import ModelServerRuntime
from mlops.runtime.packing import pack_folder
from tests.conformance.conftest import RuntimeCase, make_request, run_to_end
from tests.conformance.hostile import HOSTILE

LAUNCHER_SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "launcher-aws-secret-0c9f",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:launcher-db-password@db/airflow",
}


def _hostile(
    case: RuntimeCase,
    name: str,
    attack: str,
    target: Path | None = None,
    channels: dict[str, str] | None = None,
    mode: TrainingInputMode = TrainingInputMode.File,
    environment: dict[str, str] | None = None,
    timeout: float = 120,
) -> TrainingJob:
    hyperparameters = {"attack": attack, "target": str(target or "")}
    request = make_request(
        name, channels or {}, hyperparameters, case.settings.artifacts, algorithm=HOSTILE, input_mode=mode
    )
    if environment:
        request = request.model_copy(update={"Environment": environment})
    return run_to_end(case.new(), request, timeout=timeout)


def _channel(folder: Path, size: int = 1 << 20) -> Path:
    """A CSV channel larger than a pipe's buffer, so the supervisor is still writing epoch 0 when the
    algorithm acts."""
    folder.mkdir(parents=True)
    row = "1," + ",".join(["0.5"] * 20) + "\n"
    (folder / "part-0.csv").write_text(row * (size // len(row) + 1))
    return folder


@pytest.mark.parametrize("attack", ["pipe-symlink", "pipe-rename"])
def test_a_link_planted_in_place_of_the_next_fifo_is_never_written_through(
    runtime_case: RuntimeCase, tmp_path: Path, attack: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("a file of the host, outside the job\n")
    channel = _channel(tmp_path / "train")
    job = _hostile(runtime_case, attack, attack, victim, {"train": str(channel)}, TrainingInputMode.Pipe)
    assert victim.read_text() == "a file of the host, outside the job\n"
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    log = runtime_case.new().log_path(attack).read_text()
    assert f"read {(channel / 'part-0.csv').stat().st_size} bytes from train_0" in log  # epoch 0 was whole
    if attack == "pipe-rename":  # done on both: the supervisor still feeds the folder it made the FIFOs in
        assert "move input/ away and plant a link: done" in log
    elif runtime_case.name == "docker":  # input/data is read-only in the container: nothing can be planted there
        assert "replace train_1 with a link: refused (Read-only file system)" in log
    else:  # a local process can plant it; the supervisor will not open it
        assert "replace train_1 with a link: done" in log
        assert "[mlops] Pipe mode, channel 'train': train_1 was replaced by a symbolic link" in log


@pytest.mark.parametrize(("attack", "kind"), [("failure-symlink", "a symbolic link"), ("failure-fifo", "a FIFO")])
def test_a_failure_file_that_is_not_a_regular_file_is_not_read(
    runtime_case: RuntimeCase, tmp_path: Path, attack: str, kind: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host-secret-7d2e")
    job = _hostile(runtime_case, attack, attack, secret, timeout=60)
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    reason = job.FailureReason or ""
    assert "host-secret" not in reason
    assert f"the failure file is {kind}, not a regular file; it was not read" in reason
    assert "exited with status 1" in reason


def test_a_huge_failure_file_is_read_only_as_far_as_failure_reason_goes(runtime_case: RuntimeCase) -> None:
    job = _hostile(runtime_case, "huge", "failure-huge")
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    reason = job.FailureReason or ""
    assert "the tail of a huge failure file" not in reason  # 8 MB further than the first 1024 characters
    assert reason.startswith("AlgorithmError: the training process exited with status 1")


@pytest.mark.parametrize("attack", ["model-symlink", "output-symlink"])
def test_a_link_in_place_of_the_model_or_output_folder_is_not_packed(
    runtime_case: RuntimeCase, tmp_path: Path, attack: str
) -> None:
    secrets = tmp_path / "host-secrets"
    secrets.mkdir()
    (secrets / "id_ed25519").write_text("host-private-key-91ab")
    job = _hostile(runtime_case, attack, attack, secrets)
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    assert job.ModelArtifacts is None
    assert "could not upload the model artifact" in (job.FailureReason or "")
    assert "is a symbolic link, not a folder; refusing to pack what it points to" in (job.FailureReason or "")
    stored = [p for p in Path(runtime_case.settings.artifacts).rglob("*") if p.is_file()]
    assert stored == [], stored  # nothing of the host reached the artifact store


def test_an_algorithm_writing_to_its_input_leaves_the_stored_data_unchanged(
    runtime_case: RuntimeCase, tmp_path: Path
) -> None:
    stored = _channel(tmp_path / "dataset-version", size=4096)
    before = {p.name: sha256_file(p) for p in stored.iterdir()}
    job = _hostile(runtime_case, "writer", "write-input", channels={"train": str(stored)})
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    assert {p.name: sha256_file(p) for p in stored.iterdir()} == before
    log = runtime_case.new().log_path("writer").read_text()
    if runtime_case.name == "docker":
        assert "overwrite part-0.csv: refused (Read-only file system)" in log
    else:  # the local process wrote to its own copy
        assert "overwrite part-0.csv: done" in log


def _model_files(job: TrainingJob) -> dict[str, bytes]:
    assert job.ModelArtifacts is not None, job.FailureReason
    with tarfile.open(job.ModelArtifacts.S3ModelArtifacts) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_the_algorithm_sees_what_the_job_declares_and_none_of_the_launchers_secrets(
    runtime_case: RuntimeCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in LAUNCHER_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    job = _hostile(runtime_case, "env", "environment", environment={"MY_SETTING": "declared"})
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    seen = json.loads(_model_files(job)["environment.json"])
    assert seen["MY_SETTING"] == "declared"
    assert not set(LAUNCHER_SECRETS) & set(seen), sorted(seen)
    assert not any(v in json.dumps(seen) for v in LAUNCHER_SECRETS.values())
    if runtime_case.name == "local":  # what a process needs to run comes from the launcher
        assert seen["PATH"] and seen["LC_ALL"] == "C.UTF-8" and seen["MLOPS_CONTRACT_ROOT"].endswith("opt/ml")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_jobs_folder_and_files_are_its_owners_alone(runtime_case: RuntimeCase) -> None:
    job = _hostile(runtime_case, "private", "environment")
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    folder = runtime_case.settings.jobs_dir / "private"
    assert _mode(folder) == 0o700
    for name in ("job.json", "request.json", "launch.json", "supervisor.json", "supervisor.log", "log.txt"):
        assert _mode(folder / name) == 0o600, name
    assert job.ModelArtifacts is not None
    assert _mode(Path(job.ModelArtifacts.S3ModelArtifacts)) == 0o600


def test_a_model_server_sees_what_the_model_declares_and_none_of_the_launchers_secrets(
    server_runtime: ModelServerRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in LAUNCHER_SECRETS.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights").write_text("0")
    archive = pack_folder(tmp_path / "model", tmp_path / "model.tar.gz")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    server = server_runtime.start_server(HOSTILE, str(archive), digest, {"MY_SETTING": "declared"})
    try:
        request = urllib.request.Request(server.url + "/invocations", data=b"1,2", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            seen = json.loads(response.read())
    finally:
        server_runtime.stop_server(server)
    assert seen["MY_SETTING"] == "declared"
    assert not set(LAUNCHER_SECRETS) & set(seen), sorted(seen)
    folder = tmp_path / "servers" / server.instance_id
    assert _mode(folder) == 0o700
    assert _mode(folder / "server.log") == 0o600
