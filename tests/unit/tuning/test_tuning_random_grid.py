"""Random search is seeded; grid search enumerates every combination once, then says it is exhausted."""

from __future__ import annotations

import pytest

from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    IntegerParameterRange,
    ParameterRanges,
)
from mlops.tuning.grid_search import GridSearch
from mlops.tuning.random_search import RandomSearch
from mlops.tuning.strategy import Observation, SearchStrategy


def test_random_search_is_reproducible_from_its_seed(mixed_ranges, minimize):
    first = [s.hyperparameters for s in RandomSearch(mixed_ranges, minimize, seed=7).suggest(5)]
    again = [s.hyperparameters for s in RandomSearch(mixed_ranges, minimize, seed=7).suggest(5)]
    other = [s.hyperparameters for s in RandomSearch(mixed_ranges, minimize, seed=8).suggest(5)]
    assert first == again
    assert first != other


def test_random_search_covers_log_ranges_log_uniformly(minimize):
    ranges = ParameterRanges(
        ContinuousParameterRanges=(ContinuousParameterRange(Name="eta", MinValue="0.0001", MaxValue="1"),)
    )
    values = [float(s.hyperparameters["eta"]) for s in RandomSearch(ranges, minimize, seed=0).suggest(400)]
    below_1e_2 = sum(v < 0.01 for v in values) / len(values)
    assert 0.4 < below_1e_2 < 0.6  # half the orders of magnitude lie below 0.01


def test_ids_are_unique_and_observations_are_checked(mixed_ranges, maximize):
    strategy = RandomSearch(mixed_ranges, maximize, seed=0)
    assert isinstance(strategy, SearchStrategy)
    suggestions = strategy.suggest(3)
    assert len({s.id for s in suggestions}) == 3
    strategy.observe(Observation(suggestion_id=suggestions[0].id, value=0.9))
    strategy.observe(Observation(suggestion_id=suggestions[1].id, value=0.95))
    strategy.observe(Observation(suggestion_id=suggestions[2].id, value=None))
    best = strategy.history.best()
    assert best is not None and best[0].id == suggestions[1].id and best[1] == 0.95  # maximised
    with pytest.raises(ConflictError):
        strategy.observe(Observation(suggestion_id=suggestions[0].id, value=0.1))
    with pytest.raises(NotFoundError):
        strategy.observe(Observation(suggestion_id="999", value=0.1))
    with pytest.raises(ValidationError):
        strategy.suggest(-1)
    assert strategy.suggest(0) == []


def test_grid_enumerates_all_combinations_then_is_exhausted(minimize):
    ranges = ParameterRanges(
        ContinuousParameterRanges=(
            ContinuousParameterRange(Name="eta", MinValue="0.001", MaxValue="1", ScalingType="Logarithmic"),
        ),
        IntegerParameterRanges=(IntegerParameterRange(Name="depth", MinValue="2", MaxValue="4"),),
        CategoricalParameterRanges=(CategoricalParameterRange(Name="booster", Values=("gbtree", "dart")),),
    )
    grid = GridSearch(ranges, minimize, points_per_continuous=4)
    assert grid.size == 4 * 3 * 2
    seen = []
    while not grid.exhausted:
        batch = grid.suggest(5)
        assert batch
        seen.extend(s.hyperparameters for s in batch)
    assert len(seen) == 24
    assert len({tuple(sorted(h.items())) for h in seen}) == 24
    assert {h["eta"] for h in seen} == {"0.001", "0.01", "0.1", "1"}  # geometric on a log range
    assert {h["depth"] for h in seen} == {"2", "3", "4"}
    assert grid.suggest(3) == [] and grid.exhausted
    assert seen[0] == {"eta": "0.001", "depth": "2", "booster": "gbtree"}
    assert seen[1] == {"eta": "0.001", "depth": "2", "booster": "dart"}


def test_grid_default_discretisation_and_bad_point_count(minimize):
    ranges = ParameterRanges(
        ContinuousParameterRanges=(ContinuousParameterRange(Name="x", MinValue="0", MaxValue="1"),)
    )
    grid = GridSearch(ranges, minimize)
    assert [s.hyperparameters["x"] for s in grid.suggest(10)] == ["0", "0.25", "0.5", "0.75", "1"]
    with pytest.raises(ValidationError, match="at least 2") as info:
        GridSearch(ranges, minimize, points_per_continuous=1)
    assert info.value.field == "points_per_continuous"
