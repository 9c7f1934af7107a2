"""Automatic model tuning records, shaped after SageMaker's CreateHyperParameterTuningJob request.

Field names are SageMaker's (``ParameterRanges``, ``ResourceLimits``, ``WarmStartConfig`` …) and range
bounds are strings, as in SageMaker's API. Every record checks itself when built and refuses bad input with
a ``ValidationError`` naming the offending field, so a tuning job never starts with a range it cannot
search. No I/O here: the search strategies live in ``mlops.tuning``.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import model_validator

from mlops.core.errors import ValidationError
from mlops.core.ids import TuningJobNameStr
from mlops.core.records import Record as _Record
from mlops.core.training import TrainingJobStatus

__all__ = [
    "CategoricalParameterRange",
    "ContinuousParameterRange",
    "FinalHyperParameterTuningJobObjectiveMetric",
    "HyperParameterTrainingJobSummary",
    "HyperParameterTuningJobConfig",
    "HyperParameterTuningJobObjective",
    "HyperParameterTuningJobStrategyConfig",
    "HyperParameterTuningJobStrategyType",
    "HyperParameterTuningJobWarmStartConfig",
    "HyperbandStrategyConfig",
    "IntegerParameterRange",
    "ObjectiveType",
    "ParameterRanges",
    "ParentHyperParameterTuningJob",
    "ResourceLimits",
    "ScalingType",
    "TrainingJobEarlyStoppingType",
    "TuningJobCompletionCriteria",
    "WarmStartConfig",
    "WarmStartType",
]

MAX_WARM_START_PARENTS = 5


class ScalingType(StrEnum):
    """How a numeric range is searched. ``Auto``: see ``mlops.tuning.space.resolve_scaling``."""

    Auto = "Auto"
    Linear = "Linear"
    Logarithmic = "Logarithmic"
    ReverseLogarithmic = "ReverseLogarithmic"


class ObjectiveType(StrEnum):
    Maximize = "Maximize"
    Minimize = "Minimize"


class HyperParameterTuningJobStrategyType(StrEnum):
    Bayesian = "Bayesian"
    Random = "Random"
    Grid = "Grid"
    Hyperband = "Hyperband"


class TrainingJobEarlyStoppingType(StrEnum):
    Off = "Off"
    Auto = "Auto"


class WarmStartType(StrEnum):
    IdenticalDataAndAlgorithm = "IdenticalDataAndAlgorithm"
    TransferLearning = "TransferLearning"


def _number(field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(field, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValidationError(field, f"{text!r} is not a finite number")
    return value


def _integer(field: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValidationError(field, f"{text!r} is not an integer") from None


def _check_bounds(name: str, low: float, high: float, scaling: ScalingType) -> None:
    field = f"ParameterRanges.{name}"
    if low == high:
        raise ValidationError(
            field,
            f"range is empty (MinValue = MaxValue = {low:g}); pass a fixed value as a static hyperparameter",
        )
    if low > high:
        raise ValidationError(field, f"range is inverted: MinValue {low:g} > MaxValue {high:g}")
    if scaling is ScalingType.Logarithmic and low <= 0:
        raise ValidationError(
            field, f"Logarithmic scaling needs MinValue > 0, got {low:g}; use Linear or shift the range"
        )
    if scaling is ScalingType.ReverseLogarithmic and not (low >= 0 and high < 1):
        raise ValidationError(
            field, f"ReverseLogarithmic scaling needs 0 <= MinValue and MaxValue < 1, got [{low:g}, {high:g}]"
        )


class ContinuousParameterRange(_Record):
    Name: str
    MinValue: str
    MaxValue: str
    ScalingType: ScalingType = ScalingType.Auto

    @model_validator(mode="after")
    def _check(self) -> ContinuousParameterRange:
        _check_name(self.Name)
        low = _number(f"ParameterRanges.{self.Name}.MinValue", self.MinValue)
        high = _number(f"ParameterRanges.{self.Name}.MaxValue", self.MaxValue)
        _check_bounds(self.Name, low, high, self.ScalingType)
        return self

    @property
    def low(self) -> float:
        return float(self.MinValue)

    @property
    def high(self) -> float:
        return float(self.MaxValue)


class IntegerParameterRange(_Record):
    Name: str
    MinValue: str
    MaxValue: str
    ScalingType: ScalingType = ScalingType.Auto

    @model_validator(mode="after")
    def _check(self) -> IntegerParameterRange:
        _check_name(self.Name)
        low = _integer(f"ParameterRanges.{self.Name}.MinValue", self.MinValue)
        high = _integer(f"ParameterRanges.{self.Name}.MaxValue", self.MaxValue)
        if self.ScalingType is ScalingType.ReverseLogarithmic:
            raise ValidationError(
                f"ParameterRanges.{self.Name}", "ReverseLogarithmic scaling applies to continuous ranges only"
            )
        _check_bounds(self.Name, low, high, self.ScalingType)
        return self

    @property
    def low(self) -> int:
        return int(self.MinValue)

    @property
    def high(self) -> int:
        return int(self.MaxValue)


class CategoricalParameterRange(_Record):
    Name: str
    Values: tuple[str, ...]

    @model_validator(mode="after")
    def _check(self) -> CategoricalParameterRange:
        _check_name(self.Name)
        field = f"ParameterRanges.{self.Name}.Values"
        if not self.Values:
            raise ValidationError(field, "a categorical range needs at least one value")
        seen: set[str] = set()
        for value in self.Values:
            if value in seen:
                raise ValidationError(field, f"value {value!r} is listed twice")
            seen.add(value)
        return self


def _check_name(name: str) -> None:
    if not name.strip():
        raise ValidationError("ParameterRanges.Name", "a parameter range needs a non-empty Name")


class ParameterRanges(_Record):
    """The hyperparameters to tune. Names are unique across the three lists."""

    ContinuousParameterRanges: tuple[ContinuousParameterRange, ...] = ()
    IntegerParameterRanges: tuple[IntegerParameterRange, ...] = ()
    CategoricalParameterRanges: tuple[CategoricalParameterRange, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> ParameterRanges:
        seen: set[str] = set()
        for name in self.names():
            if name in seen:
                raise ValidationError(f"ParameterRanges.{name}", "the name appears in more than one range")
            seen.add(name)
        if not seen:
            raise ValidationError("ParameterRanges", "give at least one range to tune")
        return self

    def names(self) -> tuple[str, ...]:
        numeric: tuple[ContinuousParameterRange | IntegerParameterRange, ...] = (
            *self.ContinuousParameterRanges,
            *self.IntegerParameterRanges,
        )
        return (*(r.Name for r in numeric), *(r.Name for r in self.CategoricalParameterRanges))


class HyperParameterTuningJobObjective(_Record):
    Type: ObjectiveType
    MetricName: str

    @model_validator(mode="after")
    def _check(self) -> HyperParameterTuningJobObjective:
        if not self.MetricName.strip():
            raise ValidationError("HyperParameterTuningJobObjective.MetricName", "must not be empty")
        return self


class ResourceLimits(_Record):
    """``MaxNumberOfTrainingJobs`` may be left out for Grid, where the grid's size is the limit."""

    MaxNumberOfTrainingJobs: int | None = None
    MaxParallelTrainingJobs: int = 1
    MaxRuntimeInSeconds: int | None = None

    @model_validator(mode="after")
    def _check(self) -> ResourceLimits:
        for field in ("MaxNumberOfTrainingJobs", "MaxParallelTrainingJobs", "MaxRuntimeInSeconds"):
            value = getattr(self, field)
            if value is not None and value < 1:
                raise ValidationError(f"ResourceLimits.{field}", f"must be at least 1, got {value}")
        total = self.MaxNumberOfTrainingJobs
        if total is not None and self.MaxParallelTrainingJobs > total:
            raise ValidationError(
                "ResourceLimits.MaxParallelTrainingJobs",
                f"{self.MaxParallelTrainingJobs} exceeds MaxNumberOfTrainingJobs {total}",
            )
        return self


class TuningJobCompletionCriteria(_Record):
    """Stop the tuning job once the objective reaches this value (in the objective's direction)."""

    TargetObjectiveMetricValue: float

    @model_validator(mode="after")
    def _check(self) -> TuningJobCompletionCriteria:
        if not math.isfinite(self.TargetObjectiveMetricValue):
            raise ValidationError("TuningJobCompletionCriteria.TargetObjectiveMetricValue", "must be finite")
        return self


class HyperbandStrategyConfig(_Record):
    """Resource = the steps (epochs, boosting rounds) at which a job reports its objective."""

    MinResource: int = 1
    MaxResource: int

    @model_validator(mode="after")
    def _check(self) -> HyperbandStrategyConfig:
        if self.MinResource < 1:
            raise ValidationError("HyperbandStrategyConfig.MinResource", f"must be at least 1, got {self.MinResource}")
        if self.MaxResource <= self.MinResource:
            raise ValidationError(
                "HyperbandStrategyConfig.MaxResource",
                f"must exceed MinResource {self.MinResource}, got {self.MaxResource}",
            )
        return self


# Aliases for fields named after their own type with a None default (the default would shadow the type).
_HyperbandStrategyConfig = HyperbandStrategyConfig
_TuningJobCompletionCriteria = TuningJobCompletionCriteria


class HyperParameterTuningJobStrategyConfig(_Record):
    HyperbandStrategyConfig: _HyperbandStrategyConfig | None = None


class ParentHyperParameterTuningJob(_Record):
    HyperParameterTuningJobName: TuningJobNameStr


class HyperParameterTuningJobWarmStartConfig(_Record):
    ParentHyperParameterTuningJobs: tuple[ParentHyperParameterTuningJob, ...]
    WarmStartType: WarmStartType

    @model_validator(mode="after")
    def _check(self) -> HyperParameterTuningJobWarmStartConfig:
        field = "WarmStartConfig.ParentHyperParameterTuningJobs"
        parents = self.ParentHyperParameterTuningJobs
        if not parents:
            raise ValidationError(field, "name at least one parent tuning job")
        if len(parents) > MAX_WARM_START_PARENTS:
            raise ValidationError(field, f"at most {MAX_WARM_START_PARENTS} parents are allowed, got {len(parents)}")
        names = [p.HyperParameterTuningJobName for p in parents]
        if len(set(names)) != len(names):
            raise ValidationError(field, "a parent is listed twice")
        return self


class HyperParameterTuningJobConfig(_Record):
    """What CreateHyperParameterTuningJob takes as ``HyperParameterTuningJobConfig``."""

    Strategy: HyperParameterTuningJobStrategyType = HyperParameterTuningJobStrategyType.Bayesian
    StrategyConfig: HyperParameterTuningJobStrategyConfig | None = None
    HyperParameterTuningJobObjective: HyperParameterTuningJobObjective
    ResourceLimits: ResourceLimits
    ParameterRanges: ParameterRanges
    TrainingJobEarlyStoppingType: TrainingJobEarlyStoppingType = TrainingJobEarlyStoppingType.Off
    TuningJobCompletionCriteria: _TuningJobCompletionCriteria | None = None
    RandomSeed: int | None = None

    @model_validator(mode="after")
    def _check(self) -> HyperParameterTuningJobConfig:
        hyperband = self.Strategy is HyperParameterTuningJobStrategyType.Hyperband
        if self.TrainingJobEarlyStoppingType is TrainingJobEarlyStoppingType.Auto and hyperband:
            raise ValidationError(
                "TrainingJobEarlyStoppingType", "must be Off for Hyperband, which stops jobs by itself"
            )
        config = self.StrategyConfig
        if config is not None and config.HyperbandStrategyConfig is not None and not hyperband:
            raise ValidationError(
                "StrategyConfig.HyperbandStrategyConfig", f"applies to Hyperband, not {self.Strategy}"
            )
        grid = self.Strategy is HyperParameterTuningJobStrategyType.Grid
        if self.ResourceLimits.MaxNumberOfTrainingJobs is None and not grid:
            raise ValidationError(
                "ResourceLimits.MaxNumberOfTrainingJobs", f"is required for the {self.Strategy} strategy"
            )
        return self


class FinalHyperParameterTuningJobObjectiveMetric(_Record):
    Type: ObjectiveType | None = None
    MetricName: str
    Value: float


_FinalMetric = FinalHyperParameterTuningJobObjectiveMetric


class HyperParameterTrainingJobSummary(_Record):
    """One training job of a tuning job, as ListTrainingJobsForHyperParameterTuningJob returns it (subset).

    Warm start reads these from the parent tuning jobs.
    """

    TrainingJobName: str
    TrainingJobStatus: TrainingJobStatus
    TunedHyperParameters: dict[str, str]
    FinalHyperParameterTuningJobObjectiveMetric: _FinalMetric | None = None


WarmStartConfig = HyperParameterTuningJobWarmStartConfig
"""The name the field has in CreateHyperParameterTuningJob."""
