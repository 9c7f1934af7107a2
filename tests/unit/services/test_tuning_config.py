"""The one range syntax (``mlops tune --range`` and the pipeline's ``ranges``) and the one tuning-config builder."""

from __future__ import annotations

import pytest

from mlops.core.errors import ValidationError
from mlops.core.tuning import (
    HyperParameterTuningJobObjective,
    HyperParameterTuningJobStrategyType,
    ObjectiveType,
    ResourceLimits,
    ScalingType,
)
from mlops.services.tuning_config import parse_ranges, smallest_rung, tuning_job_config


def test_the_syntax_gives_each_kind_of_range() -> None:
    ranges = parse_ranges(
        [
            ("eta", "0.05:0.5:log"),
            ("max_depth", "3:8:int"),
            ("objective", "binary:logistic,binary:hinge"),
            ("gamma", "0:0.99:reverse-log"),
            ("booster", "gbtree"),
        ]
    )
    (eta, gamma), (depth,) = ranges.ContinuousParameterRanges, ranges.IntegerParameterRanges
    assert (eta.Name, eta.MinValue, eta.MaxValue, eta.ScalingType) == ("eta", "0.05", "0.5", ScalingType.Logarithmic)
    assert gamma.ScalingType is ScalingType.ReverseLogarithmic
    assert (depth.Name, depth.ScalingType) == ("max_depth", ScalingType.Auto)
    assert [c.Values for c in ranges.CategoricalParameterRanges] == [("binary:logistic", "binary:hinge"), ("gbtree",)]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0.1:0.5:logg", "ranges eta: unknown flag(s) ['logg']"),
        ("0.5:0.1", "ranges eta: '0.5:0.1': range is inverted"),
        ("0:0.5:log", "ranges eta: '0:0.5:log': Logarithmic scaling needs MinValue > 0"),
        ("", "ranges eta: give a range after '='"),
    ],
)
def test_a_bad_range_is_refused_naming_it(text: str, needle: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_ranges([("eta", text)], "ranges")
    assert str(refused.value).startswith(needle), str(refused.value)


def test_hyperband_takes_its_budget_from_the_resource_and_drops_it_from_the_static_ones() -> None:
    config, static = tuning_job_config(
        strategy=HyperParameterTuningJobStrategyType.Hyperband,
        objective=HyperParameterTuningJobObjective(Type=ObjectiveType.Maximize, MetricName="validation:auc"),
        ranges=parse_ranges([("eta", "0.05:0.5:log")]),
        limits=ResourceLimits(MaxNumberOfTrainingJobs=4, MaxParallelTrainingJobs=2),
        resource="num_round",
        static={"num_round": "90", "nthread": "1"},
    )
    assert config.StrategyConfig is not None and config.StrategyConfig.HyperbandStrategyConfig is not None
    hyperband = config.StrategyConfig.HyperbandStrategyConfig
    assert (hyperband.MinResource, hyperband.MaxResource) == (smallest_rung(90), 90) == (3, 90)
    assert static == {"nthread": "1"}
    with pytest.raises(ValidationError, match="--max-resource: Hyperband needs the steps of a full job"):
        tuning_job_config(
            strategy=HyperParameterTuningJobStrategyType.Hyperband,
            objective=config.HyperParameterTuningJobObjective,
            ranges=config.ParameterRanges,
            limits=config.ResourceLimits,
            resource="num_round",
            static={},
            resource_field="--max-resource",
        )
