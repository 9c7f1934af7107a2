"""Registry use cases: register a completed training job as a model package version
(PendingManualApproval) with its lineage, approve or reject it, name what is deployed where with aliases,
attach an evaluation on the test split (ModelMetrics + a metrics JSON and a plot as run artifacts), and
make a hosting model of an Approved version (with the sha256 its lineage records)."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mlops.core.datasets import DataFormat, DatasetSplit, DatasetVersion
from mlops.core.encodings import require_same_encoding
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.hosting import Model
from mlops.core.registry import (
    CreateModelPackageInput,
    InferenceSpecification,
    MetricsSource,
    ModelApprovalStatus,
    ModelLineage,
    ModelMetrics,
    ModelPackage,
    ModelPackageContainerDefinition,
    ModelQuality,
    check_group_name,
)
from mlops.core.training import MetricData, TrainingJob, TrainingJobStatus
from mlops.data.dataset_store import DatasetStore
from mlops.registry.interface import ModelRegistry, Tracker
from mlops.registry.mlflow_registry import MlflowModelRegistry
from mlops.registry.report import write_metrics_json, write_plot
from mlops.runtime.interface import ModelServerRuntime
from mlops.services.evaluation import predict_job, score_predictions
from mlops.services.hosting import Sha256Claim
from mlops.services.hosting_wiring import create_model
from mlops.services.tracking import job_data, track_training_job
from mlops.settings import Settings


def open_registry(settings: Settings) -> MlflowModelRegistry:
    return MlflowModelRegistry(settings.mlflow_uri)


def current_user() -> str:
    try:
        return os.environ.get("MLOPS_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register_job(
    registry: ModelRegistry,
    tracker: Tracker,
    job: TrainingJob,
    group: str,
    *,
    datasets: DatasetStore | None = None,
    dataset_version: DatasetVersion | None = None,
    split: DatasetSplit | None = None,
    tuning_job: str | None = None,
    image_digest: str | None = None,
    description: str = "",
    history: Sequence[MetricData] | None = None,
    content_types: Sequence[str] = ("text/csv",),
) -> ModelPackage:
    """A new version of ``group`` (created on first use) in PendingManualApproval. Only a Completed job
    with a model artifact is accepted. The job is tracked first (idempotent) so the version links to its
    run; the dataset version and split are found from the job's channels when not given."""
    check_group_name(group)
    if job.TrainingJobStatus is not TrainingJobStatus.Completed or job.ModelArtifacts is None:
        reason = f": {job.FailureReason}" if job.FailureReason else ""
        raise ValidationError(
            "--job",
            f"training job {job.TrainingJobName} is {job.TrainingJobStatus.value}{reason}; "
            "only a Completed job with a model artifact can be registered",
        )
    if dataset_version is None:
        dataset_version, found = job_data(datasets, job)
        split = split or found
    run_id = track_training_job(tracker, job, dataset_version, split, history)
    try:
        registry.describe_model_package_group(group)
    except NotFoundError:
        with contextlib.suppress(ConflictError):  # created meanwhile by a concurrent registration
            registry.create_model_package_group(group, "models registered with mlops")
    algorithm = job.AlgorithmSpecification
    encoding = job.FeatureEncoding or (dataset_version.Encoding if dataset_version else None)
    if dataset_version is not None:
        require_same_encoding(
            "--job", job.FeatureEncoding, dataset_version.Encoding,
            f"training job {job.TrainingJobName}'s channels", f"dataset {dataset_version.ref}",
        )  # fmt: skip
    request = CreateModelPackageInput(
        ModelPackageGroupName=group,
        ModelPackageDescription=description or f"{algorithm.AlgorithmName} trained by {job.TrainingJobName}",
        InferenceSpecification=InferenceSpecification(
            Containers=(
                ModelPackageContainerDefinition(
                    Image=algorithm.TrainingImage,
                    ImageDigest=image_digest,
                    ModelDataUrl=job.ModelArtifacts.S3ModelArtifacts,
                    AlgorithmName=algorithm.AlgorithmName,
                ),
            ),
            SupportedContentTypes=tuple(content_types),
        ),
        Lineage=ModelLineage(
            DatasetName=dataset_version.DatasetName if dataset_version else None,
            DatasetVersion=dataset_version.Version if dataset_version else None,
            SplitId=split.SplitId if split else None,
            TrainingJobName=job.TrainingJobName,
            TuningJobName=tuning_job,
            AlgorithmImageDigest=image_digest,
            ModelDataSha256=job.ModelArtifactSha256,
            TrackingRunId=run_id,
            FeatureEncodingSha256=encoding.sha256 if encoding else None,
        ),
        FeatureEncoding=encoding,
    )
    return registry.create_model_package(request, run_id)


def approve(
    registry: ModelRegistry, group: str, version: int, approved_by: str | None = None, comment: str = ""
) -> ModelPackage:
    return registry.update_approval_status(
        group, version, ModelApprovalStatus.Approved, approved_by or current_user(), comment
    )


def reject(
    registry: ModelRegistry, group: str, version: int, approved_by: str | None = None, comment: str = ""
) -> ModelPackage:
    return registry.update_approval_status(
        group, version, ModelApprovalStatus.Rejected, approved_by or current_user(), comment
    )


def parse_package_name(text: str) -> tuple[str, int]:
    """``GROUP/VERSION`` (the tail of a model package's ARN) → (group, version)."""
    group, sep, version = text.rpartition("/")
    if not sep or not group or not version.isdigit():
        raise ValidationError("--model-package", f"{text!r} is not GROUP/VERSION (e.g. churn/4)")
    return check_group_name(group), int(version)


def create_model_from_package(
    settings: Settings,
    registry: ModelRegistry,
    name: str,
    group: str,
    version: int,
    model_sha256: str | None = None,
    environment: dict[str, str] | None = None,
) -> Model:
    """A hosting model of an Approved version: its container and model data, and the sha256 its lineage
    records (cross-checked with ``model_sha256`` and with the training job that produced the data)."""
    package = registry.describe_model_package(group, version)
    if not package.deployable:
        raise ValidationError(
            "--model-package",
            f"{group} version {version} is {package.ModelApprovalStatus.value}; only an Approved version is deployed",
        )
    container = package.InferenceSpecification.Containers[0]
    return create_model(
        settings,
        name,
        container.ModelDataUrl,
        algorithm=container.AlgorithmName,
        image=None if container.AlgorithmName else container.Image,
        model_sha256=model_sha256,
        environment=environment,
        vouched=[Sha256Claim(f"{group} version {version}'s lineage", package.Lineage.ModelDataSha256)],
        feature_encoding=package.FeatureEncoding,
        encoding_source=f"model package {group} version {version}",
    )


def held_out_test_file(package: ModelPackage, datasets: DatasetStore | None) -> Path:
    """The label-first test CSV of the split the version was trained on."""
    lineage = package.Lineage
    if datasets is None or not lineage.DatasetName or not lineage.SplitId:
        raise ValidationError(
            "--test",
            f"{package.ModelPackageGroupName} version {package.ModelPackageVersion} records no "
            "split with a test part; pass --test FILE",
        )
    split = datasets.get_split(lineage.DatasetName, lineage.SplitId)
    if not any(p.Name == "test" for p in split.Parts):
        raise ValidationError("--test", f"split {split.SplitId} has no test part; pass --test FILE")
    return Path(split.part("test").file(DataFormat.csv).Uri)


def evaluate_package(
    registry: ModelRegistry,
    tracker: Tracker,
    package: ModelPackage,
    job: TrainingJob,
    servers: ModelServerRuntime,
    test_csv: Path,
) -> ModelPackage:
    """Serve the version's model, score the test split and store the result with the version: the
    values as ModelMetrics (ModelQuality.Statistics points at metrics.json) and metrics.json plus a ROC
    curve or residual plot as artifacts (and ``test:*`` metrics) of the version's tracking run."""
    group, number = package.ModelPackageGroupName, package.ModelPackageVersion
    if job.TrainingJobName != package.Lineage.TrainingJobName:
        raise ValidationError("job", f"{job.TrainingJobName} did not produce {group} version {number}")
    labels, scores = predict_job(job, test_csv, servers)
    evaluation = score_predictions(labels, scores)
    run_id = package.Lineage.TrackingRunId or track_training_job(tracker, job)
    artifact_path = f"evaluation/version-{number}"
    with tempfile.TemporaryDirectory(prefix="mlops-eval-") as folder:
        metrics_path = write_metrics_json(
            Path(folder),
            evaluation.problem,
            evaluation.rows,
            evaluation.metrics,
            evaluation.confusion_matrix,
            {"model_package": f"{group}/{number}", "test_data": str(test_csv)},
        )
        plot = write_plot(
            Path(folder), evaluation.problem, labels, scores, f"{group} version {number} on {evaluation.rows} rows"
        )
        digest = hashlib.sha256(metrics_path.read_bytes()).hexdigest()
        metrics_uri = tracker.log_artifact(run_id, metrics_path, artifact_path)
        plot_uri = tracker.log_artifact(run_id, plot, artifact_path)
    tracker.log_metrics(
        run_id,
        [
            MetricData(MetricName=f"test:{name}", Value=value, Timestamp=package.LastModifiedTime, Step=0)
            for name, value in evaluation.metrics.items()
        ],
    )
    metrics = ModelMetrics(
        ModelQuality=ModelQuality(
            Statistics=MetricsSource(ContentType="application/json", S3Uri=metrics_uri, ContentDigest=digest)
        ),
        ProblemType=evaluation.problem,
        EvaluatedRows=evaluation.rows,
        Metrics=evaluation.metrics,
        ConfusionMatrix=evaluation.confusion_matrix,
        Plots=(MetricsSource(ContentType="image/png", S3Uri=plot_uri),),
    )
    return registry.set_model_metrics(group, number, metrics)
