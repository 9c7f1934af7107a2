"""Hosting records, shaped after SageMaker's CreateModel, CreateEndpointConfig, CreateEndpoint /
UpdateEndpoint (DeploymentConfig), UpdateEndpointWeightsAndCapacities and DescribeEndpoint, plus the
data-capture line format and the alarm definitions that guard a deployment.

Field names are SageMaker's (PascalCase for the API records, camelCase for the capture lines, as
SageMaker writes them), so a user's SageMaker knowledge and JSON carry over. Our additions are marked.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlops.core.datasets import FeatureEncoding
from mlops.core.digests import check_sha256
from mlops.core.environment import DeclaredEnvironment
from mlops.core.errors import ValidationError as _ValidationError
from mlops.core.ids import NameStr
from mlops.core.records import Record as _Record
from mlops.core.thresholds import ComparisonOperator

# Fields carry SageMaker's names, which are also the names of their types; the `<Name>T` aliases
# after a class let an annotation name the type where a field of the same name shadows it.


def hosting_arn(kind: str, name: str, region: str = "local", account: str = "000000000000") -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


# --- CreateModel ------------------------------------------------------------------------------------


class ContainerDefinition(_Record):
    """The model's container: an image that follows the contract, or (our addition) an algorithm folder
    of the catalog, which is how the local runtime finds ``serve``."""

    Image: str | None = None
    AlgorithmName: NameStr | None = None  # ours: a folder of the catalog
    ModelDataUrl: str
    Environment: DeclaredEnvironment = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> ContainerDefinition:
        if (self.Image is None) == (self.AlgorithmName is None):
            raise ValueError("name exactly one of Image (a contract image) or AlgorithmName (a catalog algorithm)")
        return self

    @property
    def server_name(self) -> str:
        """What a ModelServerRuntime starts: the algorithm name or the image."""
        return self.AlgorithmName or self.Image or ""


ContainerDefinitionT = ContainerDefinition


FeatureEncodingT = FeatureEncoding


class Model(_Record):
    """``ModelDataSha256`` (ours) is the sha256 of the model data its creator vouched for (given, or the
    training job's record, or the registry version's lineage); a server is only ever started on an
    archive with exactly these bytes. Only records written by an older version lack it, and those are
    refused at serve time, never served unchecked."""

    ModelName: NameStr
    ModelArn: str
    PrimaryContainer: ContainerDefinitionT
    ModelDataSha256: str | None = None
    CreationTime: datetime
    # Ours (SageMaker has no field for it): what the model's feature columns mean, from its training job
    # or registry version; None when unknown (a user's own artifact, an older record).
    FeatureEncoding: FeatureEncodingT | None = None

    @field_validator("ModelDataSha256")
    @classmethod
    def _sha256(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_sha256("ModelDataSha256", value)
        except _ValidationError as e:
            raise ValueError(e.message) from None


# --- CreateEndpointConfig ---------------------------------------------------------------------------


class ProductionVariant(_Record):
    VariantName: NameStr
    ModelName: NameStr
    InitialInstanceCount: int = Field(default=1, ge=1, le=64)
    InitialVariantWeight: float = Field(default=1.0, ge=0)
    InstanceType: str = "local"


class ShadowProductionVariant(_Record):
    """A shadow variant: receives a sampled copy of the production traffic; its answers are recorded,
    never returned. ``SamplingPercentage`` is ours (SageMaker derives it from relative weights)."""

    VariantName: NameStr
    ModelName: NameStr
    InitialInstanceCount: int = Field(default=1, ge=1, le=64)
    InitialVariantWeight: float = Field(default=1.0, ge=0)
    InstanceType: str = "local"
    SamplingPercentage: float = Field(default=100.0, ge=0, le=100)


class CaptureMode(StrEnum):
    Input = "Input"
    Output = "Output"


CaptureModeT = CaptureMode


class CaptureOption(_Record):
    CaptureMode: CaptureModeT


class CaptureContentTypeHeader(_Record):
    CsvContentTypes: tuple[str, ...] = ()
    JsonContentTypes: tuple[str, ...] = ()


CaptureContentTypeHeaderT = CaptureContentTypeHeader


class DataCaptureConfig(_Record):
    EnableCapture: bool = True
    InitialSamplingPercentage: float = Field(default=100.0, ge=0, le=100)
    DestinationS3Uri: str
    CaptureOptions: tuple[CaptureOption, ...] = (
        CaptureOption(CaptureMode=CaptureMode.Input),
        CaptureOption(CaptureMode=CaptureMode.Output),
    )
    CaptureContentTypeHeader: CaptureContentTypeHeaderT | None = None

    @model_validator(mode="after")
    def _some_mode(self) -> DataCaptureConfig:
        if not self.CaptureOptions:
            raise ValueError("CaptureOptions needs at least one CaptureMode (Input and/or Output)")
        return self

    @property
    def modes(self) -> frozenset[CaptureMode]:
        return frozenset(o.CaptureMode for o in self.CaptureOptions)


DataCaptureConfigT = DataCaptureConfig


class EndpointConfig(_Record):
    EndpointConfigName: NameStr
    EndpointConfigArn: str
    ProductionVariants: tuple[ProductionVariant, ...] = Field(min_length=1, max_length=10)
    ShadowProductionVariants: tuple[ShadowProductionVariant, ...] = Field(default=(), max_length=10)
    DataCaptureConfig: DataCaptureConfigT | None = None
    CreationTime: datetime

    @model_validator(mode="after")
    def _variants(self) -> EndpointConfig:
        names = [v.VariantName for v in self.ProductionVariants] + [
            v.VariantName for v in self.ShadowProductionVariants
        ]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"variant names must be unique across production and shadow variants: {duplicates}")
        if sum(v.InitialVariantWeight for v in self.ProductionVariants) <= 0:
            raise ValueError("the production variants' weights add up to 0; at least one needs a positive weight")
        return self

    @property
    def instance_count(self) -> int:
        return sum(v.InitialInstanceCount for v in self.ProductionVariants)

    @property
    def model_names(self) -> tuple[str, ...]:
        names = [v.ModelName for v in self.ProductionVariants] + [v.ModelName for v in self.ShadowProductionVariants]
        return tuple(dict.fromkeys(names))


# --- DeploymentConfig (UpdateEndpoint) --------------------------------------------------------------


class TrafficRoutingConfigType(StrEnum):
    ALL_AT_ONCE = "ALL_AT_ONCE"
    CANARY = "CANARY"
    LINEAR = "LINEAR"


TrafficRoutingConfigTypeT = TrafficRoutingConfigType


class CapacitySizeType(StrEnum):
    INSTANCE_COUNT = "INSTANCE_COUNT"
    CAPACITY_PERCENT = "CAPACITY_PERCENT"


CapacitySizeTypeT = CapacitySizeType


class CapacitySize(_Record):
    Type: CapacitySizeTypeT
    Value: int = Field(ge=1)


CapacitySizeT = CapacitySize


class TrafficRoutingConfig(_Record):
    Type: TrafficRoutingConfigTypeT = TrafficRoutingConfigType.ALL_AT_ONCE
    WaitIntervalInSeconds: int = Field(default=0, ge=0, le=3600)
    CanarySize: CapacitySizeT | None = None
    LinearStepSize: CapacitySizeT | None = None

    @model_validator(mode="after")
    def _sizes(self) -> TrafficRoutingConfig:
        if self.Type is TrafficRoutingConfigType.CANARY and self.CanarySize is None:
            raise ValueError("Type CANARY needs CanarySize")
        if self.Type is TrafficRoutingConfigType.LINEAR and self.LinearStepSize is None:
            raise ValueError("Type LINEAR needs LinearStepSize")
        return self


TrafficRoutingConfigT = TrafficRoutingConfig


class BlueGreenUpdatePolicy(_Record):
    TrafficRoutingConfiguration: TrafficRoutingConfigT = Field(default_factory=TrafficRoutingConfigT)
    TerminationWaitInSeconds: int = Field(default=0, ge=0, le=3600)
    # SageMaker's minimum is 600 s; locally shorter deadlines are allowed (tests bake for seconds).
    MaximumExecutionTimeoutInSeconds: int | None = Field(default=None, ge=1, le=28800)


BlueGreenUpdatePolicyT = BlueGreenUpdatePolicy


class Alarm(_Record):
    AlarmName: str


class AutoRollbackConfig(_Record):
    Alarms: tuple[Alarm, ...] = Field(default=(), max_length=10)


AutoRollbackConfigT = AutoRollbackConfig


class DeploymentConfig(_Record):
    BlueGreenUpdatePolicy: BlueGreenUpdatePolicyT = Field(default_factory=BlueGreenUpdatePolicyT)
    AutoRollbackConfiguration: AutoRollbackConfigT | None = None

    @property
    def alarm_names(self) -> tuple[str, ...]:
        rollback = self.AutoRollbackConfiguration
        return tuple(a.AlarmName for a in rollback.Alarms) if rollback else ()


DeploymentConfigT = DeploymentConfig


# --- Alarms (ours: what a CloudWatch alarm is to SageMaker) -------------------------------------------


class AlarmMetric(StrEnum):
    """SageMaker's endpoint metric names; latencies in SageMaker's unit, microseconds."""

    Invocations = "Invocations"
    Invocation4XXErrors = "Invocation4XXErrors"
    Invocation5XXErrors = "Invocation5XXErrors"
    ModelLatency = "ModelLatency"
    OverheadLatency = "OverheadLatency"

    @property
    def is_latency(self) -> bool:
        return self in (AlarmMetric.ModelLatency, AlarmMetric.OverheadLatency)


AlarmMetricT = AlarmMetric


class AlarmStatistic(StrEnum):
    Sum = "Sum"  # counters: how many in the window
    Rate = "Rate"  # counters: how many per invocation in the window (0..1)
    Average = "Average"  # latencies
    Maximum = "Maximum"
    p50 = "p50"
    p90 = "p90"
    p99 = "p99"


AlarmStatisticT = AlarmStatistic


ComparisonOperatorT = ComparisonOperator


class AlarmDefinition(_Record):
    """A threshold on one metric statistic of each production variant of the new fleet, over a sliding
    window. It is evaluated only once the window holds at least ``MinimumInvocations`` invocations."""

    AlarmName: str = Field(min_length=1)
    MetricName: AlarmMetricT
    Statistic: AlarmStatisticT
    Threshold: float
    ComparisonOperator: ComparisonOperatorT = ComparisonOperator.GreaterThanThreshold
    EvaluationWindowSeconds: float = Field(default=60.0, gt=0, le=3600)
    MinimumInvocations: int = Field(default=1, ge=1)
    Description: str = ""

    @field_validator("ComparisonOperator")
    @classmethod
    def _an_alarm_has_no_baseline(cls, value: ComparisonOperatorT) -> ComparisonOperatorT:
        if value.needs_baseline:
            alarm_operators = ", ".join(o.value for o in ComparisonOperator if not o.needs_baseline)
            raise ValueError(f"{value.value} compares with a baseline, which an alarm has not: use {alarm_operators}")
        return value

    @model_validator(mode="after")
    def _statistic_fits_metric(self) -> AlarmDefinition:
        counter_stats = (AlarmStatistic.Sum, AlarmStatistic.Rate)
        if self.MetricName.is_latency and self.Statistic in counter_stats:
            raise ValueError(f"{self.MetricName.value} is a latency: use Average, Maximum, p50, p90 or p99")
        if not self.MetricName.is_latency and self.Statistic not in counter_stats:
            raise ValueError(f"{self.MetricName.value} is a count: use Sum or Rate")
        return self


# --- DescribeEndpoint ------------------------------------------------------------------------------


class EndpointStatus(StrEnum):
    Creating = "Creating"
    InService = "InService"
    Updating = "Updating"
    RollingBack = "RollingBack"
    Deleting = "Deleting"
    Failed = "Failed"


EndpointStatusT = EndpointStatus


class ProductionVariantSummary(_Record):
    VariantName: NameStr
    ModelName: NameStr  # ours (SageMaker lists DeployedImages)
    CurrentWeight: float
    DesiredWeight: float
    CurrentInstanceCount: int
    DesiredInstanceCount: int
    SamplingPercentage: float | None = None  # ours, shadow variants only


class DataCaptureStatistics(_Record):
    """What the control process's capture writer did for one endpoint since it started (ours).

    Written records reached the file (a write(2) that succeeded); failed ones could not be written (a full
    disk, an I/O error) and are not in any file; dropped ones never entered the queue because it was full
    (its byte cap). A spooled s3:// file waits in PendingUploads until an upload succeeds."""

    WrittenRecords: int = 0
    FailedRecords: int = 0
    DroppedRecords: int = 0
    QueuedRecords: int = 0
    QueuedBytes: int = 0
    PendingUploads: int = 0
    FailedUploads: int = 0
    LastError: str | None = None
    LastErrorTime: datetime | None = None


DataCaptureStatisticsT = DataCaptureStatistics


class DataCaptureConfigSummary(_Record):
    EnableCapture: bool
    CaptureStatus: str  # Started | Stopped
    CurrentSamplingPercentage: float
    DestinationS3Uri: str
    CaptureStatistics: DataCaptureStatisticsT | None = None  # ours: the writer's counts and last error


DataCaptureConfigSummaryT = DataCaptureConfigSummary


class TrafficStep(_Record):
    """One step of a deployment plan (ours): the new fleet's share of the traffic, then a bake."""

    StepNumber: int = Field(ge=1)
    NewFleetTrafficPercent: float = Field(gt=0, le=100)
    BakeSeconds: int = Field(ge=0)
    Description: str


class DeploymentStatus(StrEnum):
    InProgress = "InProgress"
    Completed = "Completed"
    RolledBack = "RolledBack"
    Failed = "Failed"


DeploymentStatusT = DeploymentStatus


class DeploymentPhase(StrEnum):
    Provisioning = "Provisioning"  # the new fleet starts; no traffic yet
    Baking = "Baking"  # a step's traffic is on the new fleet; alarms are watched
    RollingBack = "RollingBack"
    TerminationWait = "TerminationWait"  # all traffic on the new fleet; the old one waits, idle
    Done = "Done"


DeploymentPhaseT = DeploymentPhase


class DeploymentSummary(_Record):
    """The latest UpdateEndpoint of an endpoint (ours; SageMaker shows PendingDeploymentSummary)."""

    SourceEndpointConfigName: NameStr
    TargetEndpointConfigName: NameStr
    DeploymentConfig: DeploymentConfigT
    AlarmDefinitions: tuple[AlarmDefinition, ...] = ()
    Steps: tuple[TrafficStep, ...]
    CurrentStepNumber: int = 0  # 0: not shifted yet
    NewFleetTrafficPercent: float = 0.0
    Phase: DeploymentPhaseT = DeploymentPhase.Provisioning
    Status: DeploymentStatusT = DeploymentStatus.InProgress
    StartTime: datetime
    EndTime: datetime | None = None
    Reason: str | None = None

    def describe_step(self) -> str:
        total = len(self.Steps)
        if self.Phase is DeploymentPhase.Provisioning:
            return f"provisioning the new fleet ({self.TargetEndpointConfigName})"
        if self.Phase is DeploymentPhase.Baking and 1 <= self.CurrentStepNumber <= total:
            step = self.Steps[self.CurrentStepNumber - 1]
            return f"step {step.StepNumber}/{total}: {step.Description}, baking {step.BakeSeconds}s"
        if self.Phase is DeploymentPhase.RollingBack:
            return "rolling back to the old fleet"
        if self.Phase is DeploymentPhase.TerminationWait:
            return "all traffic on the new fleet; old fleet kept until TerminationWaitInSeconds"
        return f"{self.Status.value.lower()}"


DeploymentSummaryT = DeploymentSummary


class Endpoint(_Record):
    EndpointName: NameStr
    EndpointArn: str
    EndpointConfigName: NameStr
    ProductionVariants: tuple[ProductionVariantSummary, ...] = ()
    ShadowProductionVariants: tuple[ProductionVariantSummary, ...] = ()
    DataCaptureConfig: DataCaptureConfigSummaryT | None = None
    EndpointStatus: EndpointStatusT
    FailureReason: str | None = None
    CreationTime: datetime
    LastModifiedTime: datetime
    LastDeploymentConfig: DeploymentConfigT | None = None
    # ours
    CurrentDeploymentStep: str | None = None
    LastRollbackReason: str | None = None
    Deployment: DeploymentSummaryT | None = None


# --- Requests of the control API ------------------------------------------------------------------


class CreateEndpointInput(_Record):
    EndpointName: NameStr
    EndpointConfigName: NameStr


class UpdateEndpointInput(_Record):
    EndpointName: NameStr
    EndpointConfigName: NameStr
    DeploymentConfig: DeploymentConfigT | None = None
    RetainAllVariantProperties: bool = False
    # ours: the definitions of the alarms DeploymentConfig names, resolved from the alarms file by the caller
    AlarmDefinitions: tuple[AlarmDefinition, ...] = ()


class DesiredWeightAndCapacity(_Record):
    VariantName: NameStr
    DesiredWeight: float | None = Field(default=None, ge=0)
    DesiredInstanceCount: int | None = Field(default=None, ge=1, le=64)


class UpdateEndpointWeightsAndCapacitiesInput(_Record):
    EndpointName: NameStr
    DesiredWeightsAndCapacities: tuple[DesiredWeightAndCapacity, ...] = Field(min_length=1)


# --- Data capture lines (SageMaker's format; read leniently) ----------------------------------------


class _CaptureRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CaptureEncoding(StrEnum):
    CSV = "CSV"
    JSON = "JSON"
    BASE64 = "BASE64"


CaptureEncodingT = CaptureEncoding


class CapturedPayload(_CaptureRecord):
    observedContentType: str = ""
    mode: str  # INPUT | OUTPUT
    data: str
    encoding: CaptureEncodingT


class CaptureData(_CaptureRecord):
    endpointInput: CapturedPayload | None = None
    endpointOutput: CapturedPayload | None = None


CaptureDataT = CaptureData


class EventMetadata(_CaptureRecord):
    eventId: str
    inferenceId: str | None = None
    inferenceTime: datetime
    customAttributes: str | None = None


EventMetadataT = EventMetadata


class CaptureMetadata(_CaptureRecord):
    """Ours, beside SageMaker's keys: which variant answered, how fast, and for a shadow's record the
    production event it copies."""

    endpointName: str
    variantName: str
    endpointConfigName: str = ""
    shadow: bool = False
    statusCode: int = 200
    modelLatencyUs: int | None = None
    overheadLatencyUs: int | None = None
    productionEventId: str | None = None
    error: str | None = None


CaptureMetadataT = CaptureMetadata


class CaptureRecord(_CaptureRecord):
    captureData: CaptureDataT
    eventMetadata: EventMetadataT
    eventVersion: str = "0"
    mlopsMetadata: CaptureMetadataT | None = None
