"""Training job records, shaped after SageMaker's CreateTrainingJob request and DescribeTrainingJob answer.

Field names are SageMaker's, so ``TrainingJob.model_dump(mode="json")`` reads like the output of
``aws sagemaker describe-training-job`` and the SageMaker runtime is a thin translation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from mlops.core.datasets import FeatureEncoding
from mlops.core.environment import DeclaredEnvironment
from mlops.core.ids import ChannelNameStr, NameStr
from mlops.core.records import Record as _Record

# Fields carry SageMaker's names, which are also the names of their types; the `<Name>T` aliases
# after a class let an annotation name the type where a field of the same name shadows it.

FeatureEncodingT = FeatureEncoding


class TrainingJobStatus(StrEnum):
    InProgress = "InProgress"
    Completed = "Completed"
    Failed = "Failed"
    Stopping = "Stopping"
    Stopped = "Stopped"

    @property
    def terminal(self) -> bool:
        return self in (TrainingJobStatus.Completed, TrainingJobStatus.Failed, TrainingJobStatus.Stopped)


TrainingJobStatusT = TrainingJobStatus


class SecondaryStatus(StrEnum):
    Starting = "Starting"
    Downloading = "Downloading"
    Training = "Training"
    Uploading = "Uploading"
    Completed = "Completed"
    Failed = "Failed"
    Stopping = "Stopping"
    Stopped = "Stopped"
    MaxRuntimeExceeded = "MaxRuntimeExceeded"


SecondaryStatusT = SecondaryStatus


class TrainingInputMode(StrEnum):
    File = "File"
    Pipe = "Pipe"


TrainingInputModeT = TrainingInputMode


class MetricDefinition(_Record):
    Name: str
    Regex: str


class S3DataSource(_Record):
    S3Uri: str
    S3DataType: str = "S3Prefix"
    S3DataDistributionType: str = "FullyReplicated"


S3DataSourceT = S3DataSource


class DataSource(_Record):
    S3DataSource: S3DataSourceT


DataSourceT = DataSource


class Channel(_Record):
    ChannelName: ChannelNameStr
    DataSource: DataSourceT
    ContentType: str = "text/csv"
    CompressionType: str = "None"
    InputMode: TrainingInputModeT | None = None


class AlgorithmSpecification(_Record):
    TrainingImage: str | None = None
    AlgorithmName: NameStr | None = None  # a folder of the catalog
    TrainingInputMode: TrainingInputModeT = TrainingInputModeT.File
    MetricDefinitions: tuple[MetricDefinition, ...] = ()


AlgorithmSpecificationT = AlgorithmSpecification


class OutputDataConfig(_Record):
    S3OutputPath: str


OutputDataConfigT = OutputDataConfig


class ResourceConfig(_Record):
    InstanceType: str = "local"
    InstanceCount: int = Field(default=1, ge=1)
    VolumeSizeInGB: int = 1
    # Local runtimes honour these as limits; SageMaker derives them from the instance type.
    Cpus: float | None = Field(default=None, gt=0)
    MemoryMiB: int | None = Field(default=None, gt=0)


ResourceConfigT = ResourceConfig


class StoppingCondition(_Record):
    MaxRuntimeInSeconds: int = Field(default=86400, ge=1)


StoppingConditionT = StoppingCondition


class TrainingJobRequest(_Record):
    """What CreateTrainingJob takes."""

    TrainingJobName: NameStr
    AlgorithmSpecification: AlgorithmSpecificationT
    HyperParameters: dict[str, str] = Field(default_factory=dict)
    InputDataConfig: tuple[Channel, ...] = ()
    OutputDataConfig: OutputDataConfigT
    ResourceConfig: ResourceConfigT = Field(default_factory=ResourceConfigT)
    StoppingCondition: StoppingConditionT = Field(default_factory=StoppingConditionT)
    Environment: DeclaredEnvironment = Field(default_factory=dict)
    EnableNetworkIsolation: bool = True
    Tags: tuple[dict[str, str], ...] = ()
    # Ours (SageMaker has no field for it): what the channels' feature columns mean, from their dataset
    # version or the file's sidecar; None when no channel's encoding is known (a user's own files).
    FeatureEncoding: FeatureEncodingT | None = None


class MetricData(_Record):
    MetricName: str
    Value: float
    Timestamp: datetime
    Step: int | None = None


class SecondaryStatusTransition(_Record):
    Status: SecondaryStatusT
    StartTime: datetime
    EndTime: datetime | None = None
    StatusMessage: str = ""


class ModelArtifacts(_Record):
    S3ModelArtifacts: str


ModelArtifactsT = ModelArtifacts


class TrainingJob(_Record):
    """What DescribeTrainingJob returns, plus a few local facts (sha256 of the artifact, log location)."""

    TrainingJobName: NameStr
    TrainingJobArn: str
    TrainingJobStatus: TrainingJobStatusT
    SecondaryStatus: SecondaryStatusT
    FailureReason: str | None = None
    ExitCode: int | None = None
    HyperParameters: dict[str, str] = Field(default_factory=dict)
    AlgorithmSpecification: AlgorithmSpecificationT
    InputDataConfig: tuple[Channel, ...] = ()
    OutputDataConfig: OutputDataConfigT
    ResourceConfig: ResourceConfigT
    StoppingCondition: StoppingConditionT
    Environment: dict[str, str] = Field(default_factory=dict)
    EnableNetworkIsolation: bool = True
    ModelArtifacts: ModelArtifactsT | None = None
    ModelArtifactSha256: str | None = None
    FinalMetricDataList: tuple[MetricData, ...] = ()
    SecondaryStatusTransitions: tuple[SecondaryStatusTransition, ...] = ()
    CreationTime: datetime
    TrainingStartTime: datetime | None = None
    TrainingEndTime: datetime | None = None
    LastModifiedTime: datetime
    TrainingTimeInSeconds: int | None = None
    RuntimeName: str = "local"
    # Ours: the channels' feature encoding (see TrainingJobRequest); None for older jobs and unknown data.
    FeatureEncoding: FeatureEncodingT | None = None

    @property
    def final_metrics(self) -> dict[str, float]:
        return {m.MetricName: m.Value for m in self.FinalMetricDataList}

    @property
    def duration_seconds(self) -> float | None:
        if self.TrainingStartTime is None:
            return None
        end = self.TrainingEndTime or self.LastModifiedTime
        return (end - self.TrainingStartTime).total_seconds()


def training_job_arn(name: str, region: str = "local", account: str = "000000000000") -> str:
    return f"arn:aws:sagemaker:{region}:{account}:training-job/{name.lower()}"
