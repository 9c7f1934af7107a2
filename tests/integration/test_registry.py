"""The model registry and tracking on MLflow, one suite on both stores: the embedded SQLite store, and
MLflow's real tracking server (`mlflow server`, a subprocess on a loopback port) on PostgreSQL, driven
over HTTP. A real training job on the bundled churn data provides the model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.datasets import DataFormat, DatasetSplit, DatasetVersion
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.registry import ModelApprovalStatus
from mlops.core.training import MetricData, TrainingJob, TrainingJobStatus
from mlops.data.churn_sample import DemoFiles
from mlops.data.dataset_store import DatasetStore
from mlops.registry.mlflow_client import client
from mlops.registry.mlflow_registry import MlflowModelRegistry
from mlops.registry.mlflow_tracker import MlflowTracker
from mlops.runtime.health import free_port
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.runtime.local_server import LocalModelServerRuntime
from mlops.services import datasets as ds
from mlops.services.registry import approve, evaluate_package, held_out_test_file, register_job, reject
from mlops.services.tracking import track_training_job
from mlops.services.training import TrainingInput, train
from mlops.settings import Settings

pytestmark = pytest.mark.integration

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
SERVER_BOOT_SECONDS = 240


@dataclass(frozen=True)
class Trained:
    settings: Settings
    store: DatasetStore
    version: DatasetVersion
    split: DatasetSplit
    job: TrainingJob
    history: list[MetricData]


@dataclass(frozen=True)
class Backend:
    name: str
    uri: str
    registry: MlflowModelRegistry
    tracker: MlflowTracker


class MlflowServer:
    """`mlflow server` on a fresh PostgreSQL database, started at once and awaited only when needed."""

    def __init__(self, folder: Path) -> None:
        import psycopg2

        self.database = f"mlops_test_{uuid.uuid4().hex[:10]}"
        self._admin(f'CREATE DATABASE "{self.database}"', psycopg2)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "mlflow-server.log"
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{self.database}",
            "--artifacts-destination", str(folder / "artifacts"),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)

    @staticmethod
    def _admin(statement: str, psycopg2: object) -> None:
        connection = psycopg2.connect(dbname="postgres", **PG)  # type: ignore[attr-defined]
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def wait(self) -> str:
        deadline = time.monotonic() + SERVER_BOOT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self.url
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"mlflow server not healthy after {SERVER_BOOT_SECONDS}s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        import psycopg2

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server and its uvicorn worker, nothing else
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)', psycopg2)


def _postgres_unavailable() -> str | None:
    try:
        import psycopg2
    except ImportError:
        return "psycopg2 is not installed (requirements: psycopg2-binary)"
    try:
        psycopg2.connect(dbname="postgres", connect_timeout=3, **PG).close()
    except psycopg2.OperationalError as e:
        return f"PostgreSQL is not reachable on {PG['host']}:{PG['port']}: {e}"
    return None


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer | None]:
    """Started with the module's first test so it boots while the SQLite half runs."""
    if _postgres_unavailable():
        yield None
        return
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest, postgres_server: MlflowServer | None, tmp_path_factory: pytest.TempPathFactory
) -> Backend:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("mlflow-sqlite")
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        tracker = MlflowTracker(uri, artifact_root=(folder / "artifacts").as_uri())
        return Backend("sqlite", uri, MlflowModelRegistry(uri), tracker)
    reason = _postgres_unavailable()
    if reason or postgres_server is None:
        pytest.skip(reason or "no PostgreSQL")
    uri = postgres_server.wait()
    return Backend("postgresql", uri, MlflowModelRegistry(uri), MlflowTracker(uri))


@pytest.fixture(scope="module")
def trained(churn: DemoFiles, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    settings = Settings(home=tmp_path_factory.mktemp("registry") / "home", stop_grace_seconds=5)
    store = ds.dataset_store(settings)
    version = ds.ingest(store, "churn", str(churn.table)).version
    split, _ = ds.split(store, "churn", None, ds.SplitRequest(seed=7))
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    runtime = LocalProcessRuntime(settings.jobs_dir, catalog)
    channels = {name: split.part(name).file(DataFormat.csv).Uri for name in ("train", "validation")}
    hyperparameters = {"objective": "binary:logistic", "num_round": "8", "max_depth": "3", "nthread": "1"}
    job = train(runtime, catalog, TrainingInput("xgboost", channels, hyperparameters), settings.artifacts)
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    return Trained(settings, store, version, split, job, runtime.metric_history(job.TrainingJobName))


def _register(backend: Backend, trained: Trained, group: str) -> int:
    package = register_job(backend.registry, backend.tracker, trained.job, group, datasets=trained.store,
                           history=trained.history)
    return package.ModelPackageVersion


def test_register_a_completed_job_as_pending_with_lineage(backend: Backend, trained: Trained) -> None:
    package = register_job(backend.registry, backend.tracker, trained.job, "churn-register",
                           datasets=trained.store, history=trained.history, description="first try")
    assert package.ModelPackageVersion == 1
    assert package.ModelApprovalStatus is ModelApprovalStatus.PendingManualApproval and not package.deployable
    assert package.ModelPackageArn.endswith(":model-package/churn-register/1")
    assert package.ModelPackageDescription == "first try" and package.CreationTime.tzinfo is not None
    container = package.InferenceSpecification.Containers[0]
    assert container.ModelDataUrl == trained.job.ModelArtifacts.S3ModelArtifacts  # type: ignore[union-attr]
    assert container.AlgorithmName == "xgboost"
    lineage = package.Lineage
    assert (lineage.DatasetName, lineage.DatasetVersion, lineage.SplitId) == (
        "churn", trained.version.Version, trained.split.SplitId)
    assert lineage.TrainingJobName == trained.job.TrainingJobName
    assert lineage.ModelDataSha256 == trained.job.ModelArtifactSha256 and lineage.TrackingRunId
    assert package.SourceUri == f"runs:/{lineage.TrackingRunId}/model"
    files = [f.path for f in client(backend.uri).list_artifacts(lineage.TrackingRunId, "model")]
    assert files == ["model/model.tar.gz"]  # the registry holds what it points at

    second = register_job(backend.registry, backend.tracker, trained.job, "churn-register", datasets=trained.store)
    assert second.ModelPackageVersion == 2 and second.Lineage.TrackingRunId == lineage.TrackingRunId
    assert [p.ModelPackageVersion for p in backend.registry.list_model_packages("churn-register")] == [1, 2]
    assert backend.registry.describe_model_package("churn-register", 1) == package
    groups = [g.ModelPackageGroupName for g in backend.registry.list_model_package_groups()]
    assert "churn-register" in groups


def test_approval_status_aliases_and_refusals(backend: Backend, trained: Trained) -> None:
    registry, group = backend.registry, "churn-approval"
    first, second, third = (_register(backend, trained, group) for _ in range(3))
    approved = approve(registry, group, first, "alice", "AUC above the bar")
    assert approved.ModelApprovalStatus is ModelApprovalStatus.Approved and approved.deployable
    assert (approved.ApprovedBy, approved.ApprovalDescription) == ("alice", "AUC above the bar")
    assert approved.ApprovalTime is not None and approved.LastModifiedTime >= approved.CreationTime
    rejected = reject(registry, group, third, "bob", "leaky feature")
    assert rejected.ModelApprovalStatus is ModelApprovalStatus.Rejected

    with pytest.raises(ConflictError, match="already Rejected"):
        approve(registry, group, third, "alice")
    with pytest.raises(ConflictError, match="already Approved"):
        approve(registry, group, first, "carol")
    with pytest.raises(NotFoundError, match=f"{group} version 99"):
        approve(registry, group, 99, "alice")
    with pytest.raises(NotFoundError, match="model package group 'no-such-group'"):
        approve(registry, "no-such-group", 1, "alice")

    with pytest.raises(ConflictError, match="only an Approved version"):
        registry.set_alias(group, "staging", second)
    assert registry.set_alias(group, "prod", first).Aliases == ("prod",)
    approve(registry, group, second, "alice")
    registry.set_alias(group, "staging", second)
    assert registry.describe_by_alias(group, "prod").ModelPackageVersion == first
    registry.set_alias(group, "prod", second)  # promote: the alias moves
    assert registry.describe_by_alias(group, "prod").ModelPackageVersion == second
    assert registry.describe_model_package(group, second).Aliases == ("prod", "staging")
    assert registry.describe_model_package_group(group).Aliases == {"prod": second, "staging": second}
    with pytest.raises(ConflictError, match="deployed as prod, staging"):
        reject(registry, group, second, "bob")
    registry.delete_alias(group, "staging")
    with pytest.raises(NotFoundError, match="alias"):
        registry.describe_by_alias(group, "staging")

    status = ModelApprovalStatus.Approved
    assert [p.ModelPackageVersion for p in registry.list_model_packages(group, status)] == [first, second]
    revoked = reject(registry, group, first, "bob", "superseded")  # Approved -> Rejected without alias
    assert revoked.ModelApprovalStatus is ModelApprovalStatus.Rejected and revoked.ApprovedBy == "bob"


def test_jobs_that_did_not_complete_are_refused(backend: Backend, trained: Trained) -> None:
    failed = trained.job.model_copy(
        update={"TrainingJobName": "broken-job", "TrainingJobStatus": TrainingJobStatus.Failed,
                "FailureReason": "channel 'train': bad data", "ModelArtifacts": None}
    )
    with pytest.raises(ValidationError, match="broken-job is Failed: channel 'train': bad data"):
        register_job(backend.registry, backend.tracker, failed, "churn-refused")
    running = trained.job.model_copy(update={"TrainingJobStatus": TrainingJobStatus.InProgress})
    with pytest.raises(ValidationError, match="is InProgress"):
        register_job(backend.registry, backend.tracker, running, "churn-refused")
    with pytest.raises(NotFoundError):
        backend.registry.describe_model_package_group("churn-refused")


def test_tracking_logs_params_history_dataset_and_nests_runs(backend: Backend, trained: Trained) -> None:
    tracker, job = backend.tracker, trained.job
    renamed = job.model_copy(update={"TrainingJobName": f"{job.TrainingJobName}-tracked"})
    parent = tracker.start_run("tuning-job-1", {"mlops.TuningJobName": "tuning-job-1"}, experiment="tuning")
    run_id = track_training_job(tracker, renamed, trained.version, trained.split, trained.history,
                                parent_run_id=parent, experiment="tuning")
    assert track_training_job(tracker, renamed, experiment="tuning") == run_id  # idempotent
    run = tracker.get_run(run_id)
    assert run.ParentRunId == parent and run.Status == "FINISHED" and run.RunName == renamed.TrainingJobName
    assert run.Params == job.HyperParameters
    assert run.Metrics["validation:auc"] == pytest.approx(job.final_metrics["validation:auc"])
    assert run.Tags["mlops.DatasetVersion"] == trained.version.Version
    assert run.Tags["mlops.SplitId"] == trained.split.SplitId
    assert run.Tags["mlops.ModelArtifactSha256"] == job.ModelArtifactSha256
    history = tracker.metric_history(run_id, "validation:auc")
    expected = [m for m in trained.history if m.MetricName == "validation:auc"]
    assert [m.Step for m in history] == [m.Step for m in expected] and len(history) == 8
    inputs = client(backend.uri).get_run(run_id).inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["churn"]
    with pytest.raises(NotFoundError, match="tracking run"):
        tracker.start_run("orphan", parent_run_id="0" * 32)


def test_evaluation_is_stored_with_the_version(backend: Backend, trained: Trained) -> None:
    group = "churn-evaluated"
    version = _register(backend, trained, group)
    package = backend.registry.describe_model_package(group, version)
    test_csv = held_out_test_file(package, trained.store)
    servers = LocalModelServerRuntime(trained.settings.home / "servers", AlgorithmCatalog(trained.settings.algorithms_dir))
    evaluated = evaluate_package(backend.registry, backend.tracker, package, trained.job, servers, test_csv)
    metrics = evaluated.ModelMetrics
    assert metrics is not None and metrics.ProblemType == "binary" and metrics.EvaluatedRows == 300
    assert {"auc", "accuracy", "precision", "recall", "f1"} <= set(metrics.Metrics)
    assert 0.5 < metrics.Metrics["auc"] <= 1
    assert metrics.ConfusionMatrix is not None and sum(map(sum, metrics.ConfusionMatrix)) == 300
    assert metrics.ModelQuality is not None and metrics.ModelQuality.Statistics is not None
    assert metrics.ModelQuality.Statistics.S3Uri.endswith(f"evaluation/version-{version}/metrics.json")
    run_id = package.Lineage.TrackingRunId or ""
    listed = {f.path for f in client(backend.uri).list_artifacts(run_id, f"evaluation/version-{version}")}
    assert listed == {f"evaluation/version-{version}/metrics.json", f"evaluation/version-{version}/roc.png"}
    assert backend.tracker.get_run(run_id).Metrics["test:auc"] == pytest.approx(metrics.Metrics["auc"])
    assert backend.registry.describe_model_package(group, version).ModelMetrics == metrics


_FIRST_USE = """
import sys
from mlops.registry.mlflow_client import client
from mlops.registry.mlflow_registry import MlflowModelRegistry
from mlops.core.errors import NotFoundError
import mlflow.store.tracking.sqlalchemy_store, mlflow.store.model_registry.sqlalchemy_store  # noqa: E401
print("ready", flush=True)
sys.stdin.readline()  # every process waits here, then all open the new store at once
registry = MlflowModelRegistry(sys.argv[1])
try:
    registry.describe_model_package_group("churn")
except NotFoundError:
    pass
client(sys.argv[1]).search_experiments(max_results=1)
print("ok")
"""


def test_processes_opening_a_new_sqlite_store_together_all_succeed(tmp_path: Path) -> None:
    """Parallel DAG runs open the embedded store for the first time together: MLflow creates its tables
    on first use, and two processes doing it at once used to fail one with "duplicate column name"."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _FIRST_USE, uri],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:  # past the imports
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [process.communicate(timeout=300) for process in processes]
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0 and out.strip() == "ok", err[-2000:]
    assert MlflowModelRegistry(uri).list_model_package_groups() == []
