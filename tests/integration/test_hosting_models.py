"""Creating models: every model record carries the sha256 its creator vouched for — given with
``--model-sha256``, taken from the training job that packed the archive (``--job``), or from an Approved
registry version's lineage (``--model-package``) — and the sources must agree. With none, the model is
refused, saying how to give one; the sha256 is never computed from the file at creation time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.files import sha256_file
from mlops.core.registry import (
    CreateModelPackageInput,
    InferenceSpecification,
    ModelLineage,
    ModelPackageContainerDefinition,
)
from mlops.core.training import TrainingJob, TrainingJobStatus
from mlops.data.churn_sample import DemoFiles
from mlops.hosting.store import HostingStore
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.runtime.local_server import LocalModelServerRuntime
from mlops.services.evaluation import predict_job
from mlops.services.hosting_wiring import create_model, create_model_from_job
from mlops.services.registry import approve, create_model_from_package, open_registry, register_job
from mlops.services.tracking import open_tracker, track_training_job
from mlops.services.training import TrainingInput, train
from mlops.settings import Settings
from tests.integration.test_hosting_support import Hosting, echo_model

pytestmark = pytest.mark.integration

XGB = {"objective": "binary:logistic", "num_round": "4", "max_depth": "2", "nthread": "1"}


@dataclass(frozen=True)
class Trained:
    settings: Settings
    job: TrainingJob
    root: Path

    @property
    def artifact(self) -> str:
        assert self.job.ModelArtifacts is not None
        return self.job.ModelArtifacts.S3ModelArtifacts

    def cli(self, *args: str) -> tuple[int, str, str]:
        result = Hosting(self.settings.home).cli(*args, check=False)
        return result.returncode, result.stdout, result.stderr

    def model_names(self) -> list[str]:
        return [m.ModelName for m in HostingStore(self.settings.home).models()]


@pytest.fixture(scope="module")
def trained(churn: DemoFiles, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("models")
    settings = Settings(home=root / "home", stop_grace_seconds=5)
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    job = train(LocalProcessRuntime(settings.jobs_dir, catalog, 5), catalog,
                TrainingInput("xgboost", {"train": str(churn.train), "validation": str(churn.validation)}, XGB),
                settings.artifacts)
    assert job.TrainingJobStatus is TrainingJobStatus.Completed and job.ModelArtifactSha256, job.FailureReason
    return Trained(settings, job, root)


def test_models_create_with_only_model_data_is_refused_saying_how_to_give_a_sha256(trained: Trained) -> None:
    archive = echo_model(trained.root / "bare", "0.5")  # no training job of this home made it
    code, out, err = trained.cli("models", "create", "bare", "--algorithm", "xgboost", "--model-data", str(archive))
    assert code == 2, out + err
    assert "no sha256 is known for" in err and "never served unchecked" in err, err
    assert "--model-sha256" in err and "sha256sum model.tar.gz" in err and "--job" in err, err
    assert "--model-package" in err, err
    assert "bare" not in trained.model_names()


def _copy_of_the_artifact(trained: Trained, folder: str) -> Path:
    """The job's xgboost archive at a path no job of this home produced (so only the user vouches for it)."""
    archive = trained.root / folder / "model.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(Path(trained.artifact).read_bytes())
    return archive


def test_the_sha256_a_user_vouches_for_is_recorded_in_its_one_form(trained: Trained) -> None:
    archive = _copy_of_the_artifact(trained, "vouched")
    digest = sha256_file(archive)
    model = create_model(trained.settings, "vouched", str(archive), algorithm="xgboost",
                         model_sha256=f"sha256:{digest.upper()}")
    assert model.ModelDataSha256 == digest
    assert HostingStore(trained.settings.home).model("vouched").ModelDataSha256 == digest


def test_a_malformed_sha256_is_refused_naming_the_flag(trained: Trained) -> None:
    archive = echo_model(trained.root / "malformed", "0.5")
    with pytest.raises(ValidationError, match=r"^--model-sha256: 'abc' is not a sha256"):
        create_model(trained.settings, "malformed", str(archive), algorithm="xgboost", model_sha256="abc")
    assert "malformed" not in trained.model_names()


def test_model_data_of_a_training_job_gets_the_sha256_the_job_recorded(trained: Trained) -> None:
    model = create_model(trained.settings, "by-uri", trained.artifact, algorithm="xgboost")
    assert model.ModelDataSha256 == trained.job.ModelArtifactSha256


def test_a_sha256_that_disagrees_with_the_training_jobs_record_is_refused(trained: Trained) -> None:
    other = "0" * 64
    with pytest.raises(ValidationError) as refused:
        create_model(trained.settings, "disagrees", trained.artifact, algorithm="xgboost", model_sha256=other)
    message = str(refused.value)
    assert f"--model-sha256 gives sha256 {other}" in message, message
    assert f"training job {trained.job.TrainingJobName} gives {trained.job.ModelArtifactSha256}" in message
    assert "disagrees" not in trained.model_names()


def test_models_create_from_a_job_takes_its_artifact_algorithm_and_sha256(trained: Trained) -> None:
    code, out, err = trained.cli("models", "create", "from-job", "--job", trained.job.TrainingJobName)
    assert code == 0, out + err
    assert f"sha256: {trained.job.ModelArtifactSha256}" in out
    model = HostingStore(trained.settings.home).model("from-job")
    assert model.ModelDataSha256 == trained.job.ModelArtifactSha256
    assert model.PrimaryContainer.AlgorithmName == "xgboost"
    assert model.PrimaryContainer.ModelDataUrl == trained.artifact
    with pytest.raises(NotFoundError):
        create_model_from_job(trained.settings, "no-job", "no-such-job")


def test_an_approved_registry_version_gives_its_lineages_sha256(trained: Trained) -> None:
    settings = trained.settings
    registry, tracker = open_registry(settings), open_tracker(settings)
    package = register_job(registry, tracker, trained.job, "churn")
    version = package.ModelPackageVersion
    assert package.Lineage.ModelDataSha256 == trained.job.ModelArtifactSha256
    with pytest.raises(ValidationError, match="PendingManualApproval; only an Approved version"):
        create_model_from_package(settings, registry, "pending", "churn", version)
    approve(registry, "churn", version, "tester")
    code, out, err = trained.cli("models", "create", "from-registry", "--model-package", f"churn/{version}")
    assert code == 0, out + err
    model = HostingStore(settings.home).model("from-registry")
    assert model.ModelDataSha256 == trained.job.ModelArtifactSha256
    assert model.PrimaryContainer.ModelDataUrl == trained.artifact
    assert model.PrimaryContainer.AlgorithmName == "xgboost"


def _approved_package(trained: Trained, group: str, model_data: str, lineage: ModelLineage) -> int:
    """A version registered by hand (as another tool could), with whatever lineage it was given."""
    registry = open_registry(trained.settings)
    run_id = track_training_job(open_tracker(trained.settings), trained.job)
    registry.create_model_package_group(group)
    package = registry.create_model_package(
        CreateModelPackageInput(
            ModelPackageGroupName=group,
            InferenceSpecification=InferenceSpecification(
                Containers=(ModelPackageContainerDefinition(ModelDataUrl=model_data, AlgorithmName="xgboost"),)
            ),
            Lineage=lineage,
        ),
        run_id,
    )
    approve(registry, group, package.ModelPackageVersion, "tester")
    return package.ModelPackageVersion


def test_a_version_whose_lineage_disagrees_with_the_training_job_is_refused(trained: Trained) -> None:
    forged = "f" * 64
    lineage = ModelLineage(TrainingJobName=trained.job.TrainingJobName, ModelDataSha256=forged)
    version = _approved_package(trained, "forged", trained.artifact, lineage)
    with pytest.raises(ValidationError) as refused:
        create_model_from_package(trained.settings, open_registry(trained.settings), "forged", "forged", version)
    message = str(refused.value)
    assert f"forged version {version}'s lineage gives sha256 {forged}" in message, message
    assert trained.job.ModelArtifactSha256 is not None and trained.job.ModelArtifactSha256 in message
    assert "forged" not in trained.model_names()


def test_a_version_with_no_sha256_anywhere_is_refused(trained: Trained) -> None:
    archive = echo_model(trained.root / "unknown", "0.5")
    version = _approved_package(trained, "unknown", str(archive), ModelLineage())
    with pytest.raises(ValidationError, match="no sha256 is known for"):
        create_model_from_package(trained.settings, open_registry(trained.settings), "unknown", "unknown", version)
    assert "unknown" not in trained.model_names()


def test_evaluating_a_job_that_recorded_no_sha256_serves_nothing(trained: Trained, churn: DemoFiles) -> None:
    servers = trained.root / "eval-servers"
    runtime = LocalModelServerRuntime(servers, AlgorithmCatalog(trained.settings.algorithms_dir))
    older = trained.job.model_copy(update={"ModelArtifactSha256": None})  # a job record of an older version
    with pytest.raises(ValidationError, match="recorded no sha256 of its model artifact; it is not served unchecked"):
        predict_job(older, churn.test, runtime)
    assert not servers.exists() or not list(servers.iterdir())


def test_model_data_another_algorithm_trained_is_refused_when_the_model_is_created(trained: Trained) -> None:
    code, out, err = trained.cli("models", "create", "wrong-ll", "--algorithm", "linear-learner",
                                 "--model-data", trained.artifact)
    assert code == 2, out + err
    assert f"was trained by xgboost (training job {trained.job.TrainingJobName}); linear-learner cannot serve it" in err
    assert "wrong-ll" not in trained.model_names()


def test_an_archive_lacking_the_algorithms_model_files_is_refused_naming_them(trained: Trained) -> None:
    archive = _copy_of_the_artifact(trained, "not-ll")  # an xgboost archive, vouched for, served as linear-learner
    with pytest.raises(ValidationError) as refused:
        create_model(trained.settings, "not-ll", str(archive), algorithm="linear-learner",
                     model_sha256=sha256_file(archive))
    message = str(refused.value)
    assert "is not a linear-learner model: it lacks model.json, model.npz (it holds xgboost-model)" in message, message
    assert "not-ll" not in trained.model_names()
    assert create_model(trained.settings, "is-xgb", str(archive), algorithm="xgboost",
                        model_sha256=sha256_file(archive)).ModelName == "is-xgb"


def test_model_and_config_listings_have_a_header_and_fit_120_columns(trained: Trained) -> None:
    create_model_from_job(trained.settings, "listed-with-a-rather-long-model-name", trained.job.TrainingJobName)
    from mlops.cli.hosting_flags import parse_variant
    from mlops.services.hosting_wiring import create_endpoint_config

    create_endpoint_config(trained.settings, "listed-cfg", [
        parse_variant("name=blue,model=listed-with-a-rather-long-model-name,weight=1,instances=2")])
    for listing, header in ((("models",), "NAME"), (("endpoint-configs",), "NAME")):
        code, out, err = trained.cli(*listing)
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].split()[0] == header and all(len(line) <= 120 for line in lines), out
    code, out, _ = trained.cli("models")
    assert "listed-with-a-rather-long-model-name" in out and trained.job.ModelArtifactSha256[:12] in out
    code, out, _ = trained.cli("endpoint-configs")
    assert "blue=listed-with-a-rather-long-model-name w1 x2" in out
