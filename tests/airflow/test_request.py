"""The trigger form's checks and the tuning job a run asks for (no Airflow needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.airflow.request import objective_for, parse_training_request, tuning_config
from mlops.core.errors import ValidationError
from mlops.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"algorithm": "random-forest"}, "algorithm"),
        ({"split_train": 0.9, "split_validation": 0.2, "split_test": 0.1}, "split_train/split_validation/split_test"),
        ({"tuning_strategy": "Annealing"}, "tuning_strategy"),
        ({"max_parallel": 5}, "max_parallel"),
        ({"dataset_source": "bundled:iris"}, "dataset_source"),
        ({"deployment_strategy": "canary", "canary_size": "1"}, "canary_size"),
        ({"ranges": {"eta": "0.5:0.05:log"}}, "ranges eta"),  # inverted
        ({"ranges": {"eta": "0.05:2"}}, "ranges eta"),  # beyond eta's declared [0, 1]
        ({"ranges": {"eta": "0.05:0.5:logg"}}, "ranges eta"),  # an unknown flag
    ],
)
def test_a_bad_form_is_refused_naming_its_field(params: dict[str, object], field: str, settings: Settings) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_training_request(params, settings)
    assert str(refused.value).startswith(f"{field}: "), str(refused.value)


@pytest.mark.parametrize(("rounds", "smallest"), [("100", 3), ("30", 1), ("300", 10), ("2", 1)])
def test_hyperband_rungs_start_at_a_thirtieth_of_the_full_budget(rounds: str, smallest: int, settings: Settings) -> None:
    request = parse_training_request(
        {"tuning_strategy": "Hyperband", "hyperparameters": {"num_round": rounds}}, settings
    )
    config = tuning_config(request, objective_for(request, settings, None)).StrategyConfig.HyperbandStrategyConfig
    assert (config.MinResource, config.MaxResource) == (smallest, int(rounds))
