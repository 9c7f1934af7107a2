"""The hosting and monitoring use cases take their collaborators as arguments: built here without settings,
from a temporary folder, a list of training jobs and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.home import MonitoringHome
from mlops.core.hosting import ProductionVariant
from mlops.core.training import TrainingJob
from mlops.data.dataset_store import DatasetStore
from mlops.hosting.store import HostingStore
from mlops.monitoring.baseline import BaselineStore
from mlops.runtime.job_store import JobStore
from mlops.services import hosting, monitoring
from mlops.store.interface import open_store

REPO = Path(__file__).resolve().parents[3]
NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SHA = "ab" * 32


class NoJobs:
    """The training jobs of a home that ran none."""

    def list_training_jobs(self) -> list[TrainingJob]:
        return []

    def describe_training_job(self, name: str) -> TrainingJob:
        raise NotFoundError("training job", name)


def test_hosting_use_cases_run_on_the_collaborators_they_are_given(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"not read: the sha256 is vouched for")
    store = HostingStore(tmp_path / "home")
    given = hosting.Hosting(
        store=store,
        catalog=AlgorithmCatalog(REPO / "algorithms"),
        training_jobs=NoJobs(),
        object_store=partial(open_store, s3_endpoint_url=None),
        clock=lambda: NOON,
    )
    model = hosting.create_model(given, "m1", str(archive), image="any:latest", model_sha256=SHA)
    assert model.CreationTime == NOON and model.ModelDataSha256 == SHA
    assert store.model("m1") == model
    config = hosting.create_endpoint_config(
        store, "c1", [ProductionVariant(VariantName="blue", ModelName="m1")], clock=lambda: NOON
    )
    assert config.CreationTime == NOON
    with pytest.raises(ValidationError, match="no sha256 is known"):
        hosting.create_model(given, "m2", str(archive), image="any:latest")


def test_monitoring_use_cases_run_on_the_folders_they_are_given(tmp_path: Path) -> None:
    folders = MonitoringHome(tmp_path / "monitoring")
    given = monitoring.Monitoring(
        folders=folders,
        alerting=tmp_path / "alerting.yaml",
        baselines=BaselineStore(folders.baselines),
        hosting=HostingStore(tmp_path / "home"),
        training_jobs=JobStore(tmp_path / "jobs"),
        datasets=DatasetStore(tmp_path / "datasets"),
        object_store=partial(open_store, s3_endpoint_url=None),
        algorithms_dir=REPO / "algorithms",
        clock=lambda: NOON,
    )
    assert monitoring.list_schedules(given) == [] and monitoring.list_runs(given, "churn") == []
    with pytest.raises(NotFoundError):
        monitoring.get_schedule(given, "churn")
    assert monitoring.ground_truth_location(given, "churn") == str(tmp_path / "monitoring/ground-truth/churn")
    with pytest.raises(ValidationError, match="no baseline yet"):
        monitoring.create_schedule(given, monitoring.ScheduleRequest(endpoint="churn"))
