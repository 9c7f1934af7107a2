"""Build the strategy and stopping rule a ``HyperParameterTuningJobConfig`` asks for."""

from __future__ import annotations

from collections.abc import Sequence

from mlops.core.errors import ValidationError
from mlops.core.tuning import (
    HyperParameterTrainingJobSummary,
    HyperParameterTuningJobConfig,
    HyperParameterTuningJobStrategyType,
    HyperParameterTuningJobWarmStartConfig,
    TrainingJobEarlyStoppingType,
)
from mlops.tuning.bayesian import BayesianOptimization
from mlops.tuning.early_stopping import MedianStoppingRule
from mlops.tuning.grid_search import GridSearch
from mlops.tuning.hyperband import Hyperband
from mlops.tuning.random_search import RandomSearch
from mlops.tuning.strategy import SearchStrategy, StoppingRule


def create_strategy(
    config: HyperParameterTuningJobConfig,
    *,
    warm_start: HyperParameterTuningJobWarmStartConfig | None = None,
    parent_jobs: Sequence[HyperParameterTrainingJobSummary] = (),
    resource_hyperparameter: str | None = None,
) -> SearchStrategy:
    """The search strategy for ``config.Strategy``, seeded with ``config.RandomSeed`` (0 when unset).

    ``parent_jobs`` are the warm-start parents' training jobs (used by Bayesian); ``resource_hyperparameter``
    names the hyperparameter Hyperband sets to MaxResource (e.g. ``num_round``).
    """
    seed = config.RandomSeed or 0
    objective = config.HyperParameterTuningJobObjective
    ranges = config.ParameterRanges
    kind = config.Strategy
    if kind is HyperParameterTuningJobStrategyType.Bayesian:
        return BayesianOptimization(ranges, objective, seed, warm_start=warm_start, parent_jobs=parent_jobs)
    if kind is HyperParameterTuningJobStrategyType.Random:
        return RandomSearch(ranges, objective, seed)
    if kind is HyperParameterTuningJobStrategyType.Grid:
        return GridSearch(ranges, objective)
    hyperband = config.StrategyConfig.HyperbandStrategyConfig if config.StrategyConfig else None
    if hyperband is None:
        raise ValidationError(
            "StrategyConfig.HyperbandStrategyConfig", "Hyperband needs MaxResource (the steps of a full job)"
        )
    return Hyperband.from_config(ranges, objective, hyperband, seed, resource_hyperparameter)


def create_stopping_rule(config: HyperParameterTuningJobConfig, strategy: SearchStrategy) -> StoppingRule | None:
    """Hyperband stops jobs itself; ``TrainingJobEarlyStoppingType=Auto`` means the median rule; else None."""
    if isinstance(strategy, Hyperband):
        return strategy
    if config.TrainingJobEarlyStoppingType is TrainingJobEarlyStoppingType.Auto:
        return MedianStoppingRule(config.HyperParameterTuningJobObjective)
    return None
