"""Model registry records, shaped after SageMaker's model package groups and versioned model packages
(CreateModelPackage / DescribeModelPackage / UpdateModelPackage), and the approval rules.

Field names are SageMaker's: ``ModelPackageGroupName``, ``ModelPackageVersion``, ``ModelApprovalStatus``,
``ApprovalDescription``, ``ModelPackageArn``, ``CreationTime``, ``InferenceSpecification``,
``ModelMetrics``. Our additions say what SageMaker keeps elsewhere: ``ApprovedBy`` / ``ApprovalTime``
(SageMaker's ``LastModifiedBy``), ``Lineage`` (its lineage entities) and ``Aliases`` (MLflow's names
for what is deployed where).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from mlops.core.datasets import FeatureEncoding
from mlops.core.errors import ConflictError
from mlops.core.ids import NameStr, check_name
from mlops.core.records import Record as _Record


class ModelApprovalStatus(StrEnum):
    PendingManualApproval = "PendingManualApproval"
    Approved = "Approved"
    Rejected = "Rejected"


ModelApprovalStatusT = ModelApprovalStatus


class ModelPackageContainerDefinition(_Record):
    Image: str | None = None
    ImageDigest: str | None = None
    ModelDataUrl: str
    # Ours: the algorithm folder that serves the model (SageMaker names it by image only).
    AlgorithmName: str | None = None


class InferenceSpecification(_Record):
    Containers: tuple[ModelPackageContainerDefinition, ...]
    SupportedContentTypes: tuple[str, ...] = ("text/csv",)
    SupportedResponseMIMETypes: tuple[str, ...] = ("application/json",)


InferenceSpecificationT = InferenceSpecification


class MetricsSource(_Record):
    ContentType: str
    S3Uri: str
    ContentDigest: str | None = None


class ModelQuality(_Record):
    Statistics: MetricsSource | None = None
    Constraints: MetricsSource | None = None


ModelQualityT = ModelQuality


class ModelMetrics(_Record):
    """SageMaker's ModelMetrics.ModelQuality (the report's location) plus the values themselves."""

    ModelQuality: ModelQualityT | None = None
    ProblemType: str | None = None  # binary | multiclass | regression
    EvaluatedRows: int | None = None
    Metrics: dict[str, float] = Field(default_factory=dict)
    ConfusionMatrix: tuple[tuple[int, ...], ...] | None = None
    Plots: tuple[MetricsSource, ...] = ()


ModelMetricsT = ModelMetrics


class ModelLineage(_Record):
    """Where a model came from: the data, the split, the jobs, the image and the exact artifact."""

    DatasetName: str | None = None
    DatasetVersion: str | None = None
    SplitId: str | None = None
    TrainingJobName: str | None = None
    TuningJobName: str | None = None
    AlgorithmImageDigest: str | None = None
    ModelDataSha256: str | None = None
    TrackingRunId: str | None = None
    FeatureEncodingSha256: str | None = None  # FeatureEncoding.sha256 of the model's feature columns


ModelLineageT = ModelLineage
FeatureEncodingT = FeatureEncoding


class ModelPackageGroup(_Record):
    ModelPackageGroupName: str  # as the registry holds it (a shared MLflow may hold any name)
    ModelPackageGroupArn: str
    ModelPackageGroupDescription: str = ""
    CreationTime: datetime
    Aliases: dict[str, int] = Field(default_factory=dict)


class CreateModelPackageInput(_Record):
    """What CreateModelPackage takes (the versioned kind: a group name, never a package name)."""

    ModelPackageGroupName: NameStr
    ModelPackageDescription: str = ""
    InferenceSpecification: InferenceSpecificationT
    ModelMetrics: ModelMetricsT | None = None
    Lineage: ModelLineageT = Field(default_factory=ModelLineageT)
    ModelApprovalStatus: ModelApprovalStatusT = ModelApprovalStatusT.PendingManualApproval
    # Ours (SageMaker has no field for it): what the model's feature columns mean; None when unknown.
    FeatureEncoding: FeatureEncodingT | None = None


class ModelPackage(_Record):
    """What DescribeModelPackage returns for a versioned model package."""

    ModelPackageGroupName: str
    ModelPackageVersion: int
    ModelPackageArn: str
    ModelPackageDescription: str = ""
    ModelApprovalStatus: ModelApprovalStatusT
    ApprovalDescription: str | None = None
    ApprovedBy: str | None = None
    ApprovalTime: datetime | None = None
    CreationTime: datetime
    LastModifiedTime: datetime
    InferenceSpecification: InferenceSpecificationT
    ModelMetrics: ModelMetricsT | None = None
    Lineage: ModelLineageT = Field(default_factory=ModelLineageT)
    Aliases: tuple[str, ...] = ()
    SourceUri: str | None = None  # where the registry backend keeps the model (MLflow's source)
    FeatureEncoding: FeatureEncodingT | None = None  # ours: the model's feature columns; None when unknown

    @property
    def deployable(self) -> bool:
        return self.ModelApprovalStatus is ModelApprovalStatus.Approved

    @property
    def model_data_url(self) -> str:
        return self.InferenceSpecification.Containers[0].ModelDataUrl


def check_group_name(name: str) -> str:
    return check_name("ModelPackageGroupName", name)


def model_package_group_arn(group: str, region: str = "local", account: str = "000000000000") -> str:
    return f"arn:aws:sagemaker:{region}:{account}:model-package-group/{group.lower()}"


def model_package_arn(group: str, version: int, region: str = "local", account: str = "000000000000") -> str:
    return f"arn:aws:sagemaker:{region}:{account}:model-package/{group.lower()}/{version}"


def check_approval_transition(package: ModelPackage, new: ModelApprovalStatus) -> None:
    """The approval rules. Pending → Approved or Rejected; Approved → Rejected (revoking, only once no
    alias points at it); Rejected is final. Setting the current status again is refused too, so a
    second approval never overwrites the first approver's name, time and comment."""
    where = f"model package {package.ModelPackageGroupName} version {package.ModelPackageVersion}"
    current = package.ModelApprovalStatus
    if current is ModelApprovalStatus.Rejected:
        raise ConflictError(
            f"{where} is already Rejected ({package.ApprovalDescription or 'no comment'}); "
            "a rejected version cannot change status. Register the model again instead."
        )
    if new is current:
        raise ConflictError(
            f"{where} is already {current.value}" + (f" (by {package.ApprovedBy})" if package.ApprovedBy else "")
        )
    if new is ModelApprovalStatus.PendingManualApproval:
        raise ConflictError(f"{where} is {current.value}; it cannot go back to PendingManualApproval")
    if new is ModelApprovalStatus.Rejected and package.Aliases:
        raise ConflictError(
            f"{where} is deployed as {', '.join(package.Aliases)}; move or delete the alias before rejecting it"
        )


def check_alias(package: ModelPackage, alias: str) -> None:
    """Only an Approved version is deployable, so only an Approved version may carry an alias."""
    if not package.deployable:
        raise ConflictError(
            f"model package {package.ModelPackageGroupName} version {package.ModelPackageVersion} is "
            f"{package.ModelApprovalStatus.value}; only an Approved version can be aliased {alias!r}"
        )


class TrackedRun(_Record):
    """A tracking run as the Tracker reports it (an MLflow run)."""

    RunId: str
    RunName: str
    ExperimentId: str
    Status: str
    ParentRunId: str | None = None
    Params: dict[str, str] = Field(default_factory=dict)
    Metrics: dict[str, float] = Field(default_factory=dict)  # each metric's latest value
    Tags: dict[str, str] = Field(default_factory=dict)
    ArtifactUri: str
    StartTime: datetime | None = None
    EndTime: datetime | None = None
