"""The median stopping rule behind TrainingJobEarlyStoppingType=Auto."""

from __future__ import annotations

import pytest

from mlops.core.errors import ValidationError
from mlops.tuning.early_stopping import MedianStoppingRule
from mlops.tuning.strategy import Observation


def _finish(rule: MedianStoppingRule, job: str, values: list[float], failed: bool = False) -> None:
    curve = tuple((step, v) for step, v in enumerate(values, start=1))
    rule.observe(Observation(suggestion_id=job, value=None if failed else values[-1], intermediate_values=curve))


def test_nothing_is_stopped_before_enough_jobs_finished(minimize):
    rule = MedianStoppingRule(minimize, min_jobs=3)
    _finish(rule, "a", [1.0, 0.8, 0.6])
    _finish(rule, "b", [1.0, 0.9, 0.7])
    _finish(rule, "c", [2.0, 1.5, 1.0], failed=True)  # failed jobs do not count
    assert not rule.should_stop("late", 1, 100.0)
    assert rule.median_at(1) is None


def test_a_job_worse_than_the_median_running_average_is_stopped(minimize):
    rule = MedianStoppingRule(minimize, min_jobs=3)
    _finish(rule, "a", [1.0, 0.8, 0.6])  # running averages 1.0, 0.9, 0.8
    _finish(rule, "b", [2.0, 1.0, 0.9])  # 2.0, 1.5, 1.3
    _finish(rule, "c", [3.0, 0.5, 0.4])  # 3.0, 1.75, 1.3
    assert rule.median_at(1) == pytest.approx(2.0)
    assert rule.median_at(2) == pytest.approx(1.5)
    assert not rule.should_stop("good", 1, 1.9)
    assert not rule.should_stop("good", 2, 1.4)
    assert rule.should_stop("slow", 1, 2.5)  # 2.5 > median 2.0
    assert rule.should_stop("bad", 2, 1.6)  # best so far 1.6 > median 1.5
    # a job's best value so far is what counts, not its latest
    assert not rule.should_stop("noisy", 1, 1.0)
    assert not rule.should_stop("noisy", 2, 9.0)
    assert not rule.should_stop("noisy", 3, 9.0)


def test_direction_is_honoured_and_only_jobs_reaching_the_step_count(maximize):
    rule = MedianStoppingRule(maximize, min_jobs=2)
    _finish(rule, "a", [0.5, 0.6, 0.7, 0.8])
    _finish(rule, "b", [0.6, 0.7, 0.8, 0.9])
    _finish(rule, "short", [0.1])  # stopped after one step: not a peer at steps >= 2
    assert rule.median_at(3) == pytest.approx((0.6 + 0.7) / 2 * -1)  # losses are negated accuracies
    assert rule.should_stop("weak", 3, 0.5)
    assert not rule.should_stop("strong", 3, 0.8)
    assert rule.median_at(5) is None  # nobody trained that long


def test_minimum_step_and_settings(minimize):
    rule = MedianStoppingRule(minimize, min_jobs=1, min_step=3)
    _finish(rule, "a", [1.0, 1.0, 1.0])
    assert not rule.should_stop("b", 2, 5.0)
    assert rule.should_stop("b", 3, 5.0)
    assert rule.should_stop("diverged", 1, float("nan"))
    with pytest.raises(ValidationError, match="min_jobs"):
        MedianStoppingRule(minimize, min_jobs=0)
