"""Shared builders for the tuning tests."""

from __future__ import annotations

import pytest

from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    HyperParameterTuningJobObjective,
    IntegerParameterRange,
    ParameterRanges,
)


@pytest.fixture
def minimize() -> HyperParameterTuningJobObjective:
    return HyperParameterTuningJobObjective(Type="Minimize", MetricName="validation:rmse")


@pytest.fixture
def maximize() -> HyperParameterTuningJobObjective:
    return HyperParameterTuningJobObjective(Type="Maximize", MetricName="validation:auc")


@pytest.fixture
def mixed_ranges() -> ParameterRanges:
    return ParameterRanges(
        ContinuousParameterRanges=(
            ContinuousParameterRange(Name="eta", MinValue="0.001", MaxValue="1", ScalingType="Logarithmic"),
            ContinuousParameterRange(Name="subsample", MinValue="0.5", MaxValue="1"),
        ),
        IntegerParameterRanges=(IntegerParameterRange(Name="max_depth", MinValue="1", MaxValue="10"),),
        CategoricalParameterRanges=(CategoricalParameterRange(Name="booster", Values=("gbtree", "dart", "gblinear")),),
    )


def square_ranges(*names: str) -> ParameterRanges:
    return ParameterRanges(
        ContinuousParameterRanges=tuple(ContinuousParameterRange(Name=n, MinValue="0", MaxValue="1") for n in names)
    )
