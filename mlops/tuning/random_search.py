"""Random search: each suggestion drawn uniformly from the scaled space, reproducibly from a seed."""

from __future__ import annotations

import numpy as np

from mlops.core.tuning import HyperParameterTuningJobObjective, ParameterRanges
from mlops.tuning.space import SearchSpace
from mlops.tuning.strategy import History, Observation, Suggestion, check_count


class RandomSearch:
    """Uniform sampling in the unit cube (so log-scaled ranges are sampled log-uniformly).

    Observations do not change what comes next; the same seed gives the same sequence.
    """

    def __init__(self, ranges: ParameterRanges, objective: HyperParameterTuningJobObjective, seed: int = 0) -> None:
        self.space = SearchSpace.from_ranges(ranges)
        self.history = History(objective)
        self._rng = np.random.default_rng(seed)

    def suggest(self, n: int) -> list[Suggestion]:
        check_count(n)
        return [self.history.new(self.space.decode(u)) for u in self.space.sample(self._rng, n)]

    def observe(self, result: Observation) -> None:
        self.history.record(result)

    @property
    def exhausted(self) -> bool:
        return False
