"""A HyperParameterTuningJobConfig picks its strategy and stopping rule."""

from __future__ import annotations

import pytest

from mlops.core.errors import ValidationError
from mlops.core.tuning import HyperParameterTuningJobConfig
from mlops.tuning.bayesian import BayesianOptimization
from mlops.tuning.early_stopping import MedianStoppingRule
from mlops.tuning.factory import create_stopping_rule, create_strategy
from mlops.tuning.grid_search import GridSearch
from mlops.tuning.hyperband import Hyperband
from mlops.tuning.random_search import RandomSearch
from mlops.tuning.strategy import SearchStrategy


def _config(strategy: str, **extra: object) -> HyperParameterTuningJobConfig:
    return HyperParameterTuningJobConfig.model_validate(
        {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "6"}],
                "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
            },
            "RandomSeed": 11,
        }
        | extra
    )


@pytest.mark.parametrize(
    ("strategy", "kind"),
    [("Bayesian", BayesianOptimization), ("Random", RandomSearch), ("Grid", GridSearch)],
)
def test_each_strategy_type_maps_to_its_implementation(strategy, kind):
    config = _config(strategy)
    built = create_strategy(config)
    assert isinstance(built, kind) and isinstance(built, SearchStrategy)
    assert create_stopping_rule(config, built) is None
    auto = _config(strategy, TrainingJobEarlyStoppingType="Auto")
    assert isinstance(create_stopping_rule(auto, create_strategy(auto)), MedianStoppingRule)


def test_hyperband_is_its_own_stopping_rule_and_needs_max_resource():
    config = _config("Hyperband", StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 27}})
    hb = create_strategy(config, resource_hyperparameter="num_round")
    assert isinstance(hb, Hyperband)
    assert create_stopping_rule(config, hb) is hb
    assert hb.suggest(1)[0].hyperparameters["num_round"] == "27"
    with pytest.raises(ValidationError, match="MaxResource"):
        create_strategy(_config("Hyperband"))


def test_random_seed_makes_runs_reproducible():
    first = [s.hyperparameters for s in create_strategy(_config("Random")).suggest(4)]
    assert first == [s.hyperparameters for s in create_strategy(_config("Random")).suggest(4)]
