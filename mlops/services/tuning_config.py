"""The one range syntax and the one builder of a ``HyperParameterTuningJobConfig``, shared by
``mlops tune`` and the training pipeline (``mlops.airflow``): the same text means the same search, and
is refused the same way, on both paths.

Range syntax: ``MIN:MAX[:int][:log|linear|reverse-log|auto]`` for numbers, ``A,B,C`` for categories.
Every error names the range (``--range eta`` on the command line, ``ranges eta`` in the pipeline's form).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mlops.core.algorithm import AlgorithmSpec
from mlops.core.errors import ValidationError
from mlops.core.key_value import is_number
from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    HyperbandStrategyConfig,
    HyperParameterTuningJobConfig,
    HyperParameterTuningJobObjective,
    HyperParameterTuningJobStrategyConfig,
    HyperParameterTuningJobStrategyType,
    IntegerParameterRange,
    ObjectiveType,
    ParameterRanges,
    ResourceLimits,
    ScalingType,
    TrainingJobEarlyStoppingType,
    TuningJobCompletionCriteria,
)

SCALINGS = {
    "auto": ScalingType.Auto,
    "linear": ScalingType.Linear,
    "log": ScalingType.Logarithmic,
    "reverse-log": ScalingType.ReverseLogarithmic,
}
RANGE_HELP = (
    "NAME=MIN:MAX[:int][:log|linear|reverse-log|auto] for numbers, NAME=A,B,C for categories "
    "(repeat). e.g. eta=0.01:0.5:log max_depth=2:10:int objective=binary:logistic,binary:hinge"
)

AnyRange = ContinuousParameterRange | IntegerParameterRange | CategoricalParameterRange


def parse_range(name: str, text: str, field: str = "--range") -> AnyRange:
    """One range from its text; ``field`` is how the caller's user names ranges (``--range``, ``ranges``)."""
    where = f"{field} {name}"
    spec = text.strip()
    if not spec:
        raise ValidationError(where, f"give a range after '=': {RANGE_HELP}")
    parts = spec.split(":")
    try:
        if "," in spec or len(parts) < 2 or not (is_number(parts[0]) and is_number(parts[1])):
            return CategoricalParameterRange(Name=name, Values=tuple(v for v in spec.split(",") if v))
        low, high, flags = parts[0], parts[1], [p.lower() for p in parts[2:]]
        unknown = [f for f in flags if f != "int" and f not in SCALINGS]
        if unknown:
            raise ValidationError(where, f"unknown flag(s) {unknown}; use int and one of {list(SCALINGS)}")
        scaling = next((SCALINGS[f] for f in flags if f in SCALINGS), ScalingType.Auto)
        if "int" in flags:
            return IntegerParameterRange(Name=name, MinValue=low, MaxValue=high, ScalingType=scaling)
        return ContinuousParameterRange(Name=name, MinValue=low, MaxValue=high, ScalingType=scaling)
    except ValidationError as e:
        if e.field == where:
            raise
        raise ValidationError(where, f"{spec!r}: {e.message}") from None


def parse_ranges(items: Iterable[tuple[str, str]], field: str = "--range") -> ParameterRanges:
    """``[("eta", "0.05:0.5:log"), ("max_depth", "3:8:int"), ("booster", "gbtree,dart")]`` as ParameterRanges."""
    continuous, integer, categorical = [], [], []
    for name, text in items:
        parsed = parse_range(name, text, field)
        if isinstance(parsed, IntegerParameterRange):
            integer.append(parsed)
        elif isinstance(parsed, ContinuousParameterRange):
            continuous.append(parsed)
        else:
            categorical.append(parsed)
    try:
        return ParameterRanges(
            ContinuousParameterRanges=tuple(continuous),
            IntegerParameterRanges=tuple(integer),
            CategoricalParameterRanges=tuple(categorical),
        )
    except ValidationError as e:
        raise ValidationError(field, e.message if e.field == "ParameterRanges" else str(e)) from None


def tuning_objective(
    spec: AlgorithmSpec, metric: str, direction: ObjectiveType | None = None, field: str = "objective", hint: str = ""
) -> HyperParameterTuningJobObjective:
    """The objective on ``metric``: ``direction`` if given, else the one the algorithm declares for it."""
    if direction is None:
        declared = {o.MetricName: o.Type for o in spec.TrainingSpecification.SupportedTuningJobObjectiveMetrics}
        if metric not in declared:
            raise ValidationError(
                field, f"{metric!r} is not an objective of {spec.AlgorithmName}: {', '.join(declared)}{hint}"
            )
        direction = declared[metric]
    return HyperParameterTuningJobObjective(Type=direction, MetricName=metric)


def full_job_steps(resource: str | None, static: Mapping[str, str]) -> int:
    """The steps of a full job: the tuning resource hyperparameter's static value (0 when not given)."""
    return int(static.get(resource, "0") or 0) if resource else 0


def smallest_rung(full: int) -> int:
    """Rungs start where the metric means something: about a thirtieth of the full budget (3 of 100)."""
    return min(max(1, round(full / 30)), full - 1)


def tuning_job_config(
    *,
    strategy: HyperParameterTuningJobStrategyType,
    objective: HyperParameterTuningJobObjective,
    ranges: ParameterRanges,
    limits: ResourceLimits,
    resource: str | None,
    static: Mapping[str, str],
    max_resource: int | None = None,
    min_resource: int | None = None,
    early_stopping: TrainingJobEarlyStoppingType = TrainingJobEarlyStoppingType.Off,
    completion: TuningJobCompletionCriteria | None = None,
    seed: int | None = None,
    resource_field: str = "max_resource",
) -> tuple[HyperParameterTuningJobConfig, dict[str, str]]:
    """The tuning job's config and the static hyperparameters of its training jobs.

    Hyperband: ``MaxResource`` is ``max_resource`` or else the static value of ``resource`` (the algorithm's
    ``TuningResourceHyperParameter``), ``MinResource`` is ``min_resource`` or else ``smallest_rung``; the
    resource leaves the static hyperparameters, since Hyperband sets it for each job."""
    static_out = dict(static)
    strategy_config = None
    if strategy is HyperParameterTuningJobStrategyType.Hyperband:
        full = max_resource or full_job_steps(resource, static)
        if not full:
            raise ValidationError(resource_field, f"Hyperband needs the steps of a full job (e.g. {resource})")
        static_out.pop(resource or "", None)
        strategy_config = HyperParameterTuningJobStrategyConfig(
            HyperbandStrategyConfig=HyperbandStrategyConfig(
                MinResource=smallest_rung(full) if min_resource is None else min_resource, MaxResource=full
            )
        )
    config = HyperParameterTuningJobConfig(
        Strategy=strategy,
        StrategyConfig=strategy_config,
        HyperParameterTuningJobObjective=objective,
        ResourceLimits=limits,
        ParameterRanges=ranges,
        TrainingJobEarlyStoppingType=early_stopping,
        TuningJobCompletionCriteria=completion,
        RandomSeed=seed,
    )
    return config, static_out
