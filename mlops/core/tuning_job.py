"""Tuning job records, shaped after CreateHyperParameterTuningJob and DescribeHyperParameterTuningJob."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from mlops.core import training as tr
from mlops.core import tuning as tu
from mlops.core.environment import DeclaredEnvironment
from mlops.core.ids import TuningJobNameStr
from mlops.core.records import Record as _Record

# Fields carry SageMaker's names, which are also their types' names: annotations go through the modules.


class HyperParameterTuningJobStatus(StrEnum):
    InProgress = "InProgress"
    Completed = "Completed"
    Failed = "Failed"
    Stopping = "Stopping"
    Stopped = "Stopped"

    @property
    def terminal(self) -> bool:
        return self in (self.Completed, self.Failed, self.Stopped)


class HyperParameterTrainingJobDefinition(_Record):
    AlgorithmSpecification: tr.AlgorithmSpecification
    StaticHyperParameters: dict[str, str] = Field(default_factory=dict)
    InputDataConfig: tuple[tr.Channel, ...]
    OutputDataConfig: tr.OutputDataConfig
    ResourceConfig: tr.ResourceConfig = Field(default_factory=tr.ResourceConfig)
    StoppingCondition: tr.StoppingCondition = Field(default_factory=tr.StoppingCondition)
    Environment: DeclaredEnvironment = Field(default_factory=dict)
    RoleArn: str | None = None  # SageMaker's API requires it; there is no IAM here, it is echoed back


_Definition = HyperParameterTrainingJobDefinition


class TuningJobRequest(_Record):
    """What CreateHyperParameterTuningJob takes (plus the runtime that runs the training jobs)."""

    HyperParameterTuningJobName: TuningJobNameStr
    HyperParameterTuningJobConfig: tu.HyperParameterTuningJobConfig
    TrainingJobDefinition: _Definition
    WarmStartConfig: tu.HyperParameterTuningJobWarmStartConfig | None = None
    RuntimeName: str = "local"


class TrainingJobStatusCounters(_Record):
    Completed: int = 0
    InProgress: int = 0
    RetryableError: int = 0
    NonRetryableError: int = 0
    Stopped: int = 0


class ObjectiveStatusCounters(_Record):
    Succeeded: int = 0
    Pending: int = 0
    Failed: int = 0


_Status = HyperParameterTuningJobStatus
_TrainingCounters = TrainingJobStatusCounters
_ObjectiveCounters = ObjectiveStatusCounters


class TuningJob(_Record):
    """What DescribeHyperParameterTuningJob returns (plus the summaries of its training jobs)."""

    HyperParameterTuningJobName: TuningJobNameStr
    HyperParameterTuningJobArn: str
    HyperParameterTuningJobStatus: _Status
    HyperParameterTuningJobConfig: tu.HyperParameterTuningJobConfig
    TrainingJobDefinition: _Definition
    WarmStartConfig: tu.HyperParameterTuningJobWarmStartConfig | None = None
    TrainingJobStatusCounters: _TrainingCounters = Field(default_factory=_TrainingCounters)
    ObjectiveStatusCounters: _ObjectiveCounters = Field(default_factory=_ObjectiveCounters)
    BestTrainingJob: tu.HyperParameterTrainingJobSummary | None = None
    TrainingJobSummaries: tuple[tu.HyperParameterTrainingJobSummary, ...] = ()
    CreationTime: datetime
    HyperParameterTuningEndTime: datetime | None = None
    LastModifiedTime: datetime
    FailureReason: str | None = None
    ConvergencePlot: str | None = None
    RuntimeName: str = "local"


def tuning_job_arn(name: str) -> str:
    return f"arn:aws:sagemaker:local:000000000000:hyper-parameter-tuning-job/{name.lower()}"
