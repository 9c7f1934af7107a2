"""SageMaker's ``TrainingJobEarlyStoppingType=Auto``: the median stopping rule.

SageMaker documents the rule as: stop a job when its objective at the current epoch is worse than the
median of the running averages of the objective of previous training jobs up to the same epoch. We apply
Google Vizier's form of it (Golovin et al. 2017), which compares the job's **best** value so far rather
than its latest, so a single noisy report does not end a job that was doing well:

* a running job reporting at step s is stopped when its best loss over its reports at steps <= s is
  strictly worse than the **median of the running averages** of the earlier jobs, each averaged over its
  reports at steps <= s;
* "earlier jobs" are finished ones (completed or stopped, not failed) whose reports reach step s, so a
  job is only compared with jobs that trained at least as long;
* nothing is stopped until at least ``min_jobs`` such jobs exist (default 5: the median of fewer is too
  noisy to act on), nor before ``min_step``; a non-finite report stops the job.

Values are compared as losses, so the objective's direction is honoured.
"""

from __future__ import annotations

import bisect
import statistics
from dataclasses import dataclass

import numpy as np

from mlops.core.errors import ValidationError
from mlops.core.tuning import HyperParameterTuningJobObjective
from mlops.tuning.strategy import Observation, to_loss

DEFAULT_MIN_JOBS = 5


@dataclass(frozen=True)
class _Curve:
    """A finished job's reports: steps ascending and the running average of its losses at each."""

    steps: tuple[int, ...]
    running_average: tuple[float, ...]

    def average_at(self, step: int) -> float | None:
        """Running average over reports at steps <= ``step``; None if the job never reached ``step``."""
        if not self.steps or self.steps[-1] < step:
            return None
        i = bisect.bisect_right(self.steps, step)
        return self.running_average[i - 1] if i else None


class MedianStoppingRule:
    def __init__(
        self, objective: HyperParameterTuningJobObjective, min_jobs: int = DEFAULT_MIN_JOBS, min_step: int = 1
    ) -> None:
        if min_jobs < 1:
            raise ValidationError("min_jobs", f"must be at least 1, got {min_jobs}")
        self.objective = objective
        self.min_jobs = min_jobs
        self.min_step = min_step
        self._finished: list[_Curve] = []
        self._best: dict[str, float] = {}
        self._running: dict[str, list[tuple[int, float]]] = {}

    def should_stop(self, suggestion_id: str, step: int, value: float) -> bool:
        loss = to_loss(self.objective, value)
        if loss is None:
            return True
        self._running.setdefault(suggestion_id, []).append((step, value))
        best = min(loss, self._best.get(suggestion_id, loss))
        self._best[suggestion_id] = best
        if step < self.min_step:
            return False
        median = self.median_at(step)
        return median is not None and best > median

    def median_at(self, step: int) -> float | None:
        """The median of finished jobs' running averages at ``step``, None with too few jobs."""
        averages = [a for c in self._finished if (a := c.average_at(step)) is not None]
        if len(averages) < self.min_jobs:
            return None
        return statistics.median(averages)

    def observe(self, result: Observation) -> None:
        reports = list(result.intermediate_values) or self._running.get(result.suggestion_id, [])
        self._running.pop(result.suggestion_id, None)
        self._best.pop(result.suggestion_id, None)
        if result.value is None:
            return
        pairs = sorted((step, loss) for step, v in reports if (loss := to_loss(self.objective, v)) is not None)
        if not pairs:
            return
        steps = tuple(s for s, _ in pairs)
        losses = np.array([v for _, v in pairs])
        averages = np.cumsum(losses) / np.arange(1, len(losses) + 1)
        self._finished.append(_Curve(steps, tuple(float(a) for a in averages)))
