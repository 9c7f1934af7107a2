"""Grid search: every combination of the parameters' values, each suggested once.

Categorical ranges contribute all their values and integer ranges all their integers. A continuous range
is discretised into ``points_per_continuous`` points (default ``DEFAULT_POINTS_PER_CONTINUOUS`` = 5)
evenly spaced in its scaled space, both ends included, so a Logarithmic range gets geometric points.
Combinations are enumerated lazily in odometer order (the last parameter changes fastest), so a large grid
costs no memory. Once every point has been suggested, ``exhausted`` is True and ``suggest`` returns [].
"""

from __future__ import annotations

import numpy as np

from mlops.core.errors import ValidationError
from mlops.core.tuning import HyperParameterTuningJobObjective, ParameterRanges
from mlops.tuning.space import Kind, SearchSpace
from mlops.tuning.strategy import History, Observation, Suggestion, check_count

DEFAULT_POINTS_PER_CONTINUOUS = 5


class GridSearch:
    def __init__(
        self,
        ranges: ParameterRanges,
        objective: HyperParameterTuningJobObjective,
        points_per_continuous: int = DEFAULT_POINTS_PER_CONTINUOUS,
    ) -> None:
        if points_per_continuous < 2:
            raise ValidationError("points_per_continuous", f"needs at least 2 points, got {points_per_continuous}")
        self.space = SearchSpace.from_ranges(ranges)
        self.history = History(objective)
        self._axes: list[list[str]] = []
        for d in self.space.dimensions:
            if d.kind is Kind.Categorical:
                axis = list(d.values)
            elif d.kind is Kind.Integer:
                axis = [str(v) for v in range(int(d.low), int(d.high) + 1)]
            else:
                axis = list(dict.fromkeys(d.decode(u) for u in np.linspace(0.0, 1.0, points_per_continuous)))
            self._axes.append(axis)
        self.size = int(np.prod([len(a) for a in self._axes], dtype=object))
        self._next = 0

    def point(self, index: int) -> dict[str, str]:
        """The grid point at ``index`` (0-based, odometer order)."""
        values: list[str] = []
        for axis in reversed(self._axes):
            index, digit = divmod(index, len(axis))
            values.append(axis[digit])
        return dict(zip(self.space.names, reversed(values), strict=True))

    def suggest(self, n: int) -> list[Suggestion]:
        check_count(n)
        out: list[Suggestion] = []
        while len(out) < n and self._next < self.size:
            out.append(self.history.new(self.point(self._next)))
            self._next += 1
        return out

    def observe(self, result: Observation) -> None:
        self.history.record(result)

    @property
    def exhausted(self) -> bool:
        return self._next >= self.size
