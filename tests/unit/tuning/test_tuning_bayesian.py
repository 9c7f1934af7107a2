"""Bayesian optimisation: reproducible, distinct batches, better than random on a smooth function,
warm start from parent jobs."""

from __future__ import annotations

import math

import numpy as np
from conftest import square_ranges

from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    FinalHyperParameterTuningJobObjectiveMetric,
    HyperParameterTrainingJobSummary,
    IntegerParameterRange,
    ParameterRanges,
    WarmStartConfig,
)
from mlops.tuning.bayesian import BayesianOptimization
from mlops.tuning.random_search import RandomSearch
from mlops.tuning.strategy import Observation, SearchStrategy


def smooth(hp: dict[str, str]) -> float:
    x, y = float(hp["x"]), float(hp["y"])
    return (x - 0.7) ** 2 + 2 * (y - 0.25) ** 2 + 0.1 * math.sin(5 * x)


def _run(strategy: SearchStrategy, budget: int, batch: int = 1) -> list[float]:
    values: list[float] = []
    while len(values) < budget:
        for s in strategy.suggest(batch):
            value = smooth(s.hyperparameters)
            strategy.observe(Observation(suggestion_id=s.id, value=value))
            values.append(value)
    return values


def test_initial_design_then_model_based_and_reproducible(minimize):
    ranges = square_ranges("x", "y")
    a = BayesianOptimization(ranges, minimize, seed=3)
    b = BayesianOptimization(ranges, minimize, seed=3)
    assert len(a._initial) == 3  # max(3, d + 1) with d = 2
    _run(a, 6)
    _run(b, 6)
    assert [s.hyperparameters for s in a.history.suggestions.values()] == [
        s.hyperparameters for s in b.history.suggestions.values()
    ]


def test_bayesian_beats_random_on_a_smooth_function(minimize):
    ranges = square_ranges("x", "y")
    optimum = min(smooth({"x": str(x), "y": "0.25"}) for x in np.linspace(0, 1, 2001))
    regret = {"bayesian": [], "random": []}
    for seed in range(3):
        regret["bayesian"].append(min(_run(BayesianOptimization(ranges, minimize, seed), 12)) - optimum)
        regret["random"].append(min(_run(RandomSearch(ranges, minimize, seed), 12)) - optimum)
    assert np.mean(regret["bayesian"]) < 0.25 * np.mean(regret["random"])
    assert max(regret["bayesian"]) < 0.01


def test_a_batch_is_distinct_and_spread_out(minimize):
    ranges = square_ranges("x", "y")
    strategy = BayesianOptimization(ranges, minimize, seed=0)
    _run(strategy, 6)
    batch = strategy.suggest(5)
    points = np.array([[float(s.hyperparameters["x"]), float(s.hyperparameters["y"])] for s in batch])
    assert len(batch) == 5
    distances = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)
    assert distances[np.triu_indices(5, 1)].min() > 0.01
    # pending suggestions count too: the next call does not land on them
    more = strategy.suggest(1)[0]
    assert more.hyperparameters not in [s.hyperparameters for s in batch]


def test_small_discrete_space_is_never_repeated_and_runs_out(minimize):
    ranges = ParameterRanges(
        IntegerParameterRanges=(IntegerParameterRange(Name="k", MinValue="1", MaxValue="3"),),
        CategoricalParameterRanges=(CategoricalParameterRange(Name="c", Values=("a", "b")),),
    )
    strategy = BayesianOptimization(ranges, minimize, seed=0)
    seen = []
    for _ in range(10):
        for s in strategy.suggest(1):
            seen.append((s.hyperparameters["k"], s.hyperparameters["c"]))
            value = (
                None
                if s.hyperparameters["c"] == "b" and s.hyperparameters["k"] == "2"
                else float(s.hyperparameters["k"])
            )
            strategy.observe(Observation(suggestion_id=s.id, value=value))
    assert len(seen) == 6 == len(set(seen))
    assert strategy.exhausted and strategy.suggest(2) == []


def _parent(
    hp: dict[str, str], value: float | None, metric: str = "validation:rmse"
) -> HyperParameterTrainingJobSummary:
    final = None if value is None else FinalHyperParameterTuningJobObjectiveMetric(MetricName=metric, Value=value)
    return HyperParameterTrainingJobSummary(
        TrainingJobName=f"parent-{len(hp)}-{value}",
        TrainingJobStatus="Completed" if value is not None else "Failed",
        TunedHyperParameters=hp,
        FinalHyperParameterTuningJobObjectiveMetric=final,
    )


def test_warm_start_uses_parent_observations(minimize):
    ranges = square_ranges("x", "y")
    rng = np.random.default_rng(0)
    parents = []
    for x, y in rng.random((8, 2)):
        hp = {"x": f"{x:.4f}", "y": f"{y:.4f}", "num_round": "50"}
        parents.append(_parent(hp, smooth(hp)))
    parents.append(_parent({"x": "0.5", "y": "0.5"}, None))  # failed: skipped
    parents.append(_parent({"x": "0.5", "y": "0.5"}, 1.0, metric="train:rmse"))  # other metric: skipped
    config = WarmStartConfig(
        ParentHyperParameterTuningJobs=[{"HyperParameterTuningJobName": "parent"}],
        WarmStartType="IdenticalDataAndAlgorithm",
    )
    warm = BayesianOptimization(ranges, minimize, seed=0, warm_start=config, parent_jobs=parents)
    assert len(warm.prior) == 8
    assert warm._initial == []  # enough observations: no random initial design
    first = warm.suggest(1)[0].hyperparameters  # already model-based
    assert {k: first[k] for k in ("x", "y")} not in [p.TunedHyperParameters for p in parents]
    assert smooth(first) < np.median([smooth(p.TunedHyperParameters) for p in parents[:8]])
    best_cold = min(_run(BayesianOptimization(ranges, minimize, seed=0), 5))
    assert min(_run(warm, 5)) <= best_cold + 1e-3


def test_transfer_learning_uses_only_points_inside_the_new_ranges(minimize):
    narrow = ParameterRanges(
        ContinuousParameterRanges=(
            ContinuousParameterRange(Name="x", MinValue="0", MaxValue="0.5"),
            ContinuousParameterRange(Name="y", MinValue="0", MaxValue="1"),
        )
    )
    parents = [_parent({"x": "0.25", "y": "0.5"}, 1.0), _parent({"x": "0.75", "y": "0.5"}, 0.5)]
    for kind, expected in (("TransferLearning", 1), ("IdenticalDataAndAlgorithm", 2)):
        config = WarmStartConfig(
            ParentHyperParameterTuningJobs=[{"HyperParameterTuningJobName": "p"}], WarmStartType=kind
        )
        strategy = BayesianOptimization(narrow, minimize, seed=0, warm_start=config, parent_jobs=parents)
        assert len(strategy.prior) == expected
        assert len(strategy._initial) == 3 - expected
        for s in strategy.suggest(4):
            assert 0 <= float(s.hyperparameters["x"]) <= 0.5


def test_the_last_untried_configuration_of_a_large_finite_space_is_found(minimize):
    ranges = ParameterRanges(IntegerParameterRanges=(IntegerParameterRange(Name="k", MinValue="1", MaxValue="1000"),))
    strategy = BayesianOptimization(ranges, minimize, seed=0)
    strategy._taken.update((str(k),) for k in range(1, 1001) if k != 637)
    assert not strategy.exhausted
    unit = strategy._random_untaken()
    assert unit is not None and strategy.space.decode(unit) == {"k": "637"}
    strategy._taken.add(("637",))
    assert strategy.exhausted
