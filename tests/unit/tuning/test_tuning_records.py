"""The tuning records refuse bad input up front, naming the field."""

from __future__ import annotations

import pytest

from mlops.core.errors import ValidationError
from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    HyperbandStrategyConfig,
    HyperParameterTuningJobConfig,
    HyperParameterTuningJobObjective,
    HyperParameterTuningJobStrategyConfig,
    IntegerParameterRange,
    ParameterRanges,
    ResourceLimits,
    TuningJobCompletionCriteria,
    WarmStartConfig,
)


@pytest.mark.parametrize(
    ("low", "high", "scaling", "message"),
    [
        ("1", "1", "Linear", "empty"),
        ("2", "1", "Linear", "inverted"),
        ("0", "1", "Logarithmic", "Logarithmic scaling needs MinValue > 0"),
        ("-1", "1", "Logarithmic", "Logarithmic"),
        ("0.5", "1", "ReverseLogarithmic", "ReverseLogarithmic scaling needs"),
        ("-0.1", "0.5", "ReverseLogarithmic", "ReverseLogarithmic"),
        ("x", "1", "Linear", "not a number"),
        ("nan", "1", "Linear", "not a finite number"),
    ],
)
def test_bad_continuous_ranges_are_refused_naming_the_parameter(low, high, scaling, message):
    with pytest.raises(ValidationError, match=message) as info:
        ContinuousParameterRange(Name="eta", MinValue=low, MaxValue=high, ScalingType=scaling)
    assert "eta" in info.value.field


@pytest.mark.parametrize(
    ("low", "high", "scaling", "message"),
    [
        ("3", "3", "Linear", "empty"),
        ("5", "1", "Auto", "inverted"),
        ("0", "10", "Logarithmic", "MinValue > 0"),
        ("1", "10", "ReverseLogarithmic", "continuous ranges only"),
        ("1.5", "10", "Linear", "not an integer"),
    ],
)
def test_bad_integer_ranges_are_refused_naming_the_parameter(low, high, scaling, message):
    with pytest.raises(ValidationError, match=message) as info:
        IntegerParameterRange(Name="max_depth", MinValue=low, MaxValue=high, ScalingType=scaling)
    assert "max_depth" in info.value.field


def test_good_ranges_are_accepted():
    ContinuousParameterRange(Name="momentum", MinValue="0", MaxValue="0.999", ScalingType="ReverseLogarithmic")
    ContinuousParameterRange(Name="eta", MinValue="1e-4", MaxValue="1", ScalingType="Logarithmic")
    IntegerParameterRange(Name="max_depth", MinValue="1", MaxValue="10")


def test_empty_or_repeated_categorical_values_are_refused():
    with pytest.raises(ValidationError, match="at least one value") as info:
        CategoricalParameterRange(Name="booster", Values=())
    assert "booster" in info.value.field
    with pytest.raises(ValidationError, match="listed twice"):
        CategoricalParameterRange(Name="booster", Values=("gbtree", "gbtree"))


def test_duplicate_names_across_ranges_are_refused():
    with pytest.raises(ValidationError, match="more than one range") as info:
        ParameterRanges(
            ContinuousParameterRanges=(ContinuousParameterRange(Name="eta", MinValue="0", MaxValue="1"),),
            CategoricalParameterRanges=(CategoricalParameterRange(Name="eta", Values=("0.1",)),),
        )
    assert info.value.field == "ParameterRanges.eta"


def test_no_ranges_at_all_is_refused():
    with pytest.raises(ValidationError, match="at least one range"):
        ParameterRanges()


def test_resource_limits():
    ResourceLimits(MaxNumberOfTrainingJobs=10, MaxParallelTrainingJobs=10)
    with pytest.raises(ValidationError, match="exceeds MaxNumberOfTrainingJobs") as info:
        ResourceLimits(MaxNumberOfTrainingJobs=3, MaxParallelTrainingJobs=4)
    assert info.value.field == "ResourceLimits.MaxParallelTrainingJobs"
    with pytest.raises(ValidationError, match="at least 1") as info:
        ResourceLimits(MaxNumberOfTrainingJobs=0)
    assert info.value.field == "ResourceLimits.MaxNumberOfTrainingJobs"


def test_warm_start_allows_at_most_five_parents():
    parents = [{"HyperParameterTuningJobName": f"parent-{i}"} for i in range(6)]
    WarmStartConfig(ParentHyperParameterTuningJobs=parents[:5], WarmStartType="TransferLearning")
    with pytest.raises(ValidationError, match="at most 5") as info:
        WarmStartConfig(ParentHyperParameterTuningJobs=parents, WarmStartType="IdenticalDataAndAlgorithm")
    assert info.value.field == "WarmStartConfig.ParentHyperParameterTuningJobs"
    with pytest.raises(ValidationError, match="at least one"):
        WarmStartConfig(ParentHyperParameterTuningJobs=[], WarmStartType="TransferLearning")


def test_objective_completion_and_hyperband_config():
    with pytest.raises(ValidationError, match="must not be empty"):
        HyperParameterTuningJobObjective(Type="Maximize", MetricName=" ")
    with pytest.raises(ValidationError, match="finite"):
        TuningJobCompletionCriteria(TargetObjectiveMetricValue=float("inf"))
    with pytest.raises(ValidationError, match="must exceed MinResource") as info:
        HyperbandStrategyConfig(MinResource=10, MaxResource=10)
    assert info.value.field == "HyperbandStrategyConfig.MaxResource"


def _config(**overrides: object) -> HyperParameterTuningJobConfig:
    fields: dict[str, object] = {
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.01", "MaxValue": "1"}]},
    }
    return HyperParameterTuningJobConfig.model_validate(fields | overrides)


def test_tuning_job_config_reads_like_sagemaker_and_checks_combinations():
    config = _config(Strategy="Hyperband", StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 50}})
    assert config.StrategyConfig == HyperParameterTuningJobStrategyConfig(
        HyperbandStrategyConfig=HyperbandStrategyConfig(MinResource=1, MaxResource=50)
    )
    assert config.model_dump(mode="json")["ParameterRanges"]["ContinuousParameterRanges"][0]["ScalingType"] == "Auto"
    with pytest.raises(ValidationError, match="must be Off for Hyperband"):
        _config(Strategy="Hyperband", TrainingJobEarlyStoppingType="Auto")
    with pytest.raises(ValidationError, match="applies to Hyperband") as info:
        _config(Strategy="Random", StrategyConfig={"HyperbandStrategyConfig": {"MaxResource": 50}})
    assert info.value.field == "StrategyConfig.HyperbandStrategyConfig"
    with pytest.raises(ValidationError, match="is required for the Bayesian"):
        _config(ResourceLimits={"MaxParallelTrainingJobs": 2})
    _config(Strategy="Grid", ResourceLimits={"MaxParallelTrainingJobs": 2})


def test_records_are_frozen():
    r = ContinuousParameterRange(Name="eta", MinValue="0", MaxValue="1")
    with pytest.raises(Exception, match="frozen"):
        r.MinValue = "0.5"  # type: ignore[misc]
