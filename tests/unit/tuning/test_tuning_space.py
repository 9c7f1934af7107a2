"""The search space: scaling types, rounding, one-hot features, strings out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlops.core.errors import ValidationError
from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    IntegerParameterRange,
    ParameterRanges,
    ScalingType,
)
from mlops.tuning.space import Kind, SearchSpace, format_number, resolve_scaling


def _space(*ranges: object) -> SearchSpace:
    cont = tuple(r for r in ranges if isinstance(r, ContinuousParameterRange))
    ints = tuple(r for r in ranges if isinstance(r, IntegerParameterRange))
    cats = tuple(r for r in ranges if isinstance(r, CategoricalParameterRange))
    return SearchSpace.from_ranges(
        ParameterRanges(ContinuousParameterRanges=cont, IntegerParameterRanges=ints, CategoricalParameterRanges=cats)
    )


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.001, 1.0, ScalingType.Logarithmic),
        (1.0, 100.0, ScalingType.Logarithmic),
        (1.0, 99.0, ScalingType.Linear),
        (0.0, 1000.0, ScalingType.Linear),
        (-5.0, 10.0, ScalingType.Linear),
    ],
)
def test_auto_scaling_is_log_for_positive_ranges_spanning_two_orders_of_magnitude(low, high, expected):
    assert resolve_scaling(ScalingType.Auto, low, high) is expected
    assert resolve_scaling(ScalingType.Linear, low, high) is ScalingType.Linear


@pytest.mark.parametrize(
    ("scaling", "low", "high"),
    [("Linear", "-5", "10"), ("Logarithmic", "1e-5", "10"), ("ReverseLogarithmic", "0", "0.9999")],
)
def test_continuous_round_trip(scaling, low, high):
    space = _space(ContinuousParameterRange(Name="x", MinValue=low, MaxValue=high, ScalingType=scaling))
    for u in np.linspace(0, 1, 21):
        text = space.decode(np.array([u]))["x"]
        assert float(low) <= float(text) <= float(high)
        assert space.encode({"x": text})[0] == pytest.approx(u, abs=1e-6)  # 10 significant digits


def test_log_scale_spreads_values_by_orders_of_magnitude():
    space = _space(ContinuousParameterRange(Name="x", MinValue="0.001", MaxValue="1", ScalingType="Logarithmic"))
    assert [space.decode(np.array([u]))["x"] for u in (0, 1 / 3, 2 / 3, 1)] == ["0.001", "0.01", "0.1", "1"]


def test_reverse_log_scale_crowds_values_near_one():
    space = _space(ContinuousParameterRange(Name="m", MinValue="0", MaxValue="0.999", ScalingType="ReverseLogarithmic"))
    values = [float(space.decode(np.array([u]))["m"]) for u in (0, 1 / 3, 2 / 3, 1)]
    assert values == pytest.approx([0.0, 0.9, 0.99, 0.999])


@pytest.mark.parametrize("scaling", ["Linear", "Logarithmic"])
def test_integers_round_and_every_value_gets_a_share(scaling):
    space = _space(IntegerParameterRange(Name="k", MinValue="1", MaxValue="8", ScalingType=scaling))
    decoded = [space.decode(np.array([u]))["k"] for u in np.linspace(0, 1, 2001)]
    assert sorted(set(decoded), key=int) == [str(i) for i in range(1, 9)]
    for i in range(1, 9):
        assert space.decode(space.encode({"k": str(i)}))["k"] == str(i)


def test_categoricals_are_one_hot_features_and_integers_snap():
    space = _space(
        IntegerParameterRange(Name="k", MinValue="0", MaxValue="4"),
        CategoricalParameterRange(Name="c", Values=("a", "b", "c")),
    )
    assert space.n_params == 2 and space.n_features == 4
    features = space.features(np.array([[0.51, 0.5], [0.0, 0.99]]))
    assert features[0].tolist() == pytest.approx([0.5, 0, 1, 0])
    assert features[1].tolist() == pytest.approx([0.1, 0, 0, 1])
    assert space.decode(np.array([0.51, 0.5])) == {"k": "2", "c": "b"}
    assert space.size == 15


def test_strings_as_sagemaker_passes_them(mixed_ranges):
    space = SearchSpace.from_ranges(mixed_ranges)
    hp = space.decode(np.array([0.5, 0.5, 0.5, 0.5]))
    assert set(hp) == {"eta", "subsample", "max_depth", "booster"}
    assert all(isinstance(v, str) for v in hp.values())
    assert hp["max_depth"].isdigit() and hp["booster"] == "dart"
    assert float(hp["eta"]) == pytest.approx(math.sqrt(0.001), rel=1e-6)
    assert format_number(0.1) == "0.1" and format_number(-0.0) == "0" and format_number(1e-7) == "1e-07"
    assert [d.kind for d in space.dimensions] == [Kind.Continuous, Kind.Continuous, Kind.Integer, Kind.Categorical]


def test_encode_refuses_values_outside_the_space_unless_extrapolating(mixed_ranges):
    space = SearchSpace.from_ranges(mixed_ranges)
    good = {"eta": "0.1", "subsample": "0.7", "max_depth": "3", "booster": "dart"}
    assert space.contains(good)
    with pytest.raises(ValidationError, match="outside") as info:
        space.encode(good | {"max_depth": "12"})
    assert info.value.field == "hyperparameter max_depth"
    assert space.encode(good | {"max_depth": "12"}, strict=False)[2] > 1.0
    with pytest.raises(ValidationError, match="not one of"):
        space.encode(good | {"booster": "linear"}, strict=False)
    with pytest.raises(ValidationError, match="logarithmic"):
        space.encode(good | {"eta": "0"}, strict=False)
    with pytest.raises(ValidationError, match="was not given"):
        space.encode({"eta": "0.1"})
    assert not space.contains(good | {"subsample": "1.5"})
