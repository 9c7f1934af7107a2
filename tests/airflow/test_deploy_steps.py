"""The deploy step's model (no Airflow, no router needed): it carries the sha256 the Approved version's
lineage records, and a version whose model data has no sha256 anywhere is refused before anything is
created."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.airflow.deploy_steps import deployment_model, start_deployment
from mlops.airflow.request import DeploymentRequest
from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import ValidationError
from mlops.core.registry import (
    CreateModelPackageInput,
    InferenceSpecification,
    ModelLineage,
    ModelPackageContainerDefinition,
)
from mlops.core.training import TrainingJob, TrainingJobStatus
from mlops.data.churn_sample import DemoFiles
from mlops.hosting.store import HostingStore
from mlops.runtime.health import free_port
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.services.registry import approve, open_registry, register_job
from mlops.services.tracking import open_tracker, track_training_job
from mlops.services.training import TrainingInput, train
from mlops.settings import Settings
from tests.integration.test_hosting_support import echo_model

XGB = {"objective": "binary:logistic", "num_round": "4", "max_depth": "2", "nthread": "1"}


@pytest.fixture(scope="module")
def trained(churn: DemoFiles, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, TrainingJob]:
    # a port nothing listens on: these steps must settle the model before they ever reach the router
    settings = Settings(home=tmp_path_factory.mktemp("deploy") / "home", stop_grace_seconds=5, router_port=free_port())
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    job = train(LocalProcessRuntime(settings.jobs_dir, catalog, 5), catalog,
                TrainingInput("xgboost", {"train": str(churn.train), "validation": str(churn.validation)}, XGB),
                settings.artifacts)
    assert job.TrainingJobStatus is TrainingJobStatus.Completed and job.ModelArtifactSha256, job.FailureReason
    return settings, job


def test_the_deployed_model_carries_the_sha256_of_the_versions_lineage(trained: tuple[Settings, TrainingJob]) -> None:
    settings, job = trained
    registry = open_registry(settings)
    version = register_job(registry, open_tracker(settings), job, "churn").ModelPackageVersion
    approve(registry, "churn", version, "tester")
    model = deployment_model(settings, "churn", version, "run1")
    assert model.ModelName == f"churn-v{version}-run1"
    assert model.ModelDataSha256 == job.ModelArtifactSha256
    assert HostingStore(settings.home).model(model.ModelName) == model
    assert deployment_model(settings, "churn", version, "run1") == model  # a retry finds the same record


def test_a_version_with_no_sha256_is_refused_before_anything_is_created(
    trained: tuple[Settings, TrainingJob], tmp_path: Path
) -> None:
    settings, job = trained
    registry = open_registry(settings)
    archive = echo_model(tmp_path / "outside", "0.5")  # registered by another tool, with no lineage
    registry.create_model_package_group("outside")
    version = registry.create_model_package(
        CreateModelPackageInput(
            ModelPackageGroupName="outside",
            InferenceSpecification=InferenceSpecification(
                Containers=(ModelPackageContainerDefinition(ModelDataUrl=str(archive), AlgorithmName="xgboost"),)
            ),
            Lineage=ModelLineage(),
        ),
        track_training_job(open_tracker(settings), job),
    ).ModelPackageVersion
    approve(registry, "outside", version, "tester")
    request = DeploymentRequest(endpoint_name="outside", environment="e2e", strategy="all-at-once")
    with pytest.raises(ValidationError, match="no sha256 is known for"):
        start_deployment(settings, request, "outside", version, "run1")
    store = HostingStore(settings.home)
    assert [m.ModelName for m in store.models() if m.ModelName.startswith("outside")] == []
    assert [c.EndpointConfigName for c in store.endpoint_configs() if c.EndpointConfigName.startswith("outside")] == []
