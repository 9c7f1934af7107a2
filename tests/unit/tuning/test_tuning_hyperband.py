"""Hyperband: Li et al.'s brackets, jobs judged at rungs, the losers stopped early."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from conftest import square_ranges

from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.tuning import HyperbandStrategyConfig
from mlops.tuning.hyperband import Hyperband, make_brackets
from mlops.tuning.strategy import Observation, SearchStrategy, StoppingRule


def test_brackets_follow_li_et_al():
    brackets = make_brackets(1, 81, eta=3)
    assert [b.s for b in brackets] == [4, 3, 2, 1, 0]
    assert [b.rungs for b in brackets] == [(1, 3, 9, 27, 81), (3, 9, 27, 81), (9, 27, 81), (27, 81), (81,)]
    assert [b.n_configs for b in brackets] == [81, 34, 15, 8, 5]
    assert [b.rungs for b in make_brackets(4, 100)] == [(11, 33, 100), (33, 100), (100,)]
    with pytest.raises(ValidationError, match="min_resource"):
        make_brackets(10, 10)
    with pytest.raises(ValidationError, match="eta"):
        make_brackets(1, 10, eta=1)


def test_suggestions_are_dealt_to_brackets_in_proportion(minimize):
    hb = Hyperband(square_ranges("x"), minimize, seed=0, min_resource=1, max_resource=81)
    assert isinstance(hb, SearchStrategy) and isinstance(hb, StoppingRule)
    suggestions = hb.suggest(143)
    counts = Counter(hb.bracket_of(s.id).s for s in suggestions)
    assert counts == {4: 81, 3: 34, 2: 15, 1: 8, 0: 5}
    first_ten = Counter(hb.bracket_of(s.id).s for s in suggestions[:10])
    assert len(first_ten) >= 3  # interleaved, not one bracket after another


def _curve(quality: float, step: int) -> float:
    """A learning curve rising towards ``quality`` (an accuracy, maximised)."""
    return quality * (1 - math.exp(-step / 8))


def test_hyperband_stops_the_losers_and_lets_the_winners_finish(maximize):
    hb = Hyperband(
        square_ranges("x"), maximize, seed=1, min_resource=1, max_resource=27, resource_hyperparameter="epochs"
    )
    rng = np.random.default_rng(0)
    finished, stopped, used = [], [], 0
    for s in hb.suggest(60):
        assert s.hyperparameters["epochs"] == "27"
        quality = float(rng.uniform(0.5, 1.0))
        reported = []
        for step in range(1, 28):
            value = _curve(quality, step)
            reported.append((step, value))
            used += 1
            if hb.should_stop(s.id, step, value):
                break
        early = step < 27
        hb.observe(Observation(suggestion_id=s.id, value=value, stopped_early=early, intermediate_values=reported))
        (stopped if early else finished).append(quality)
    assert stopped and finished
    assert np.median(finished) > np.median(stopped)
    assert used < 0.5 * 60 * 27
    _, best_value = hb.history.best()
    assert best_value == pytest.approx(max(_curve(q, 27) for q in finished))


def test_stop_decisions_per_rung(minimize):
    hb = Hyperband(square_ranges("x"), minimize, seed=0, min_resource=1, max_resource=9, eta=3)
    # put every job in the most aggressive bracket (rungs 1, 3, 9) to make the rule visible
    jobs = [s for s in hb.suggest(40) if hb.bracket_of(s.id).s == 2][:6]
    losses = [0.5, 0.7, 0.4, 0.9, 0.6, 0.3]
    decisions = [hb.should_stop(s.id, 1, v) for s, v in zip(jobs, losses, strict=True)]
    # k < eta: continue only if best so far; then continue if within the best floor(k / eta)
    assert decisions == [False, True, False, True, True, False]
    assert hb.should_stop(jobs[1].id, 2, 0.1)  # once stopped, always stopped
    assert hb.should_stop(jobs[0].id, 5, float("nan"))  # a diverged job is stopped
    with pytest.raises(NotFoundError):
        hb.should_stop("nope", 1, 0.1)


def test_without_resource_hyperparameter_a_job_is_stopped_at_max_resource(minimize):
    hb = Hyperband(square_ranges("x"), minimize, seed=0, min_resource=1, max_resource=3)
    s = hb.suggest(1)[0]
    assert "epochs" not in s.hyperparameters
    assert [hb.should_stop(s.id, step, 0.1) for step in (1, 2, 3)] == [False, False, True]


def test_resource_cannot_also_be_tuned_and_config_maps(minimize):
    with pytest.raises(ValidationError, match="Hyperband's resource") as info:
        Hyperband(square_ranges("epochs"), minimize, max_resource=10, resource_hyperparameter="epochs")
    assert info.value.field == "ParameterRanges.epochs"
    hb = Hyperband.from_config(square_ranges("x"), minimize, HyperbandStrategyConfig(MinResource=2, MaxResource=54))
    assert hb.brackets[0].rungs == (2, 6, 18, 54)


def test_observed_curves_fill_rungs_for_later_jobs(minimize):
    hb = Hyperband(square_ranges("x"), minimize, seed=0, min_resource=1, max_resource=9)
    jobs = [s for s in hb.suggest(30) if hb.bracket_of(s.id).s == 2][:2]
    # the first job is never asked about; its reported curve still sets the bar at each rung
    hb.observe(Observation(suggestion_id=jobs[0].id, value=0.1, intermediate_values=((1, 0.2), (3, 0.15), (9, 0.1))))
    assert hb.should_stop(jobs[1].id, 1, 0.5)
