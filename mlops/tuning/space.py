"""The search space: hyperparameter strings to and from the unit hypercube, honouring scaling types.

Two coordinate systems:

* the **unit vector** ``u`` has one coordinate in [0, 1] per parameter, in the order continuous ranges,
  integer ranges, categorical ranges (as listed in ``ParameterRanges``). Random search, the grid and the
  acquisition optimiser work here. A categorical parameter with k values owns the k equal slices of [0, 1];
  an integer range [a, b] is searched as the real range [a - 0.5, b + 0.5] (so each integer gets an equal
  slice in the scaled space) and rounded.
* the **features** ``x`` the Gaussian process sees: numeric parameters keep their unit coordinate (integers
  snapped to the centre of their slice); a categorical parameter becomes a one-hot block.

Scaling (of a numeric range [a, b]):

* Linear: ``u = (x - a) / (b - a)``;
* Logarithmic: linear in ``log x`` (needs a > 0);
* ReverseLogarithmic: linear in ``-log(1 - x)`` (needs 0 <= a, b < 1): fine steps near 1, e.g. momentum;
* Auto (our rule, documented as SageMaker leaves it open): Logarithmic when the range is positive and spans
  at least two orders of magnitude (``a > 0`` and ``b / a >= 100``), Linear otherwise.

Hyperparameters come out as strings, as SageMaker passes them to a training job: integers as ``"12"``,
continuous values with 10 significant digits (``"0.01234567891"``), categoricals verbatim.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from mlops.core.errors import ValidationError
from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    IntegerParameterRange,
    ParameterRanges,
    ScalingType,
)

Array = NDArray[np.float64]

AUTO_LOG_SPAN = 100.0
"""Auto scaling turns logarithmic when MaxValue / MinValue reaches this (two orders of magnitude)."""


class Kind(StrEnum):
    Continuous = "Continuous"
    Integer = "Integer"
    Categorical = "Categorical"


def resolve_scaling(scaling: ScalingType, low: float, high: float) -> ScalingType:
    """The scaling actually used: Auto becomes Logarithmic or Linear by the rule in the module docstring."""
    if scaling is not ScalingType.Auto:
        return scaling
    if low > 0 and high / low >= AUTO_LOG_SPAN:
        return ScalingType.Logarithmic
    return ScalingType.Linear


def format_number(value: float) -> str:
    """A continuous value as a hyperparameter string: 10 significant digits, no trailing zeros."""
    text = format(float(value), ".10g")
    return "0" if text == "-0" else text


@dataclass(frozen=True)
class Dimension:
    """One parameter of the space. ``scaling`` is resolved (never Auto); categoricals use Linear."""

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 1.0
    scaling: ScalingType = ScalingType.Linear
    values: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        """How many GP features this parameter takes."""
        return len(self.values) if self.kind is Kind.Categorical else 1

    @property
    def size(self) -> int | None:
        """The number of distinct values (None for a continuous range)."""
        if self.kind is Kind.Categorical:
            return len(self.values)
        if self.kind is Kind.Integer:
            return int(self.high - self.low) + 1
        return None

    # numeric transforms, vectorised; for integers the bounds are widened by half a step
    def _bounds(self) -> tuple[float, float]:
        if self.kind is Kind.Integer:
            return self.low - 0.5, self.high + 0.5
        return self.low, self.high

    def forward(self, x: Array) -> Array:
        """Numeric value(s) to unit coordinate(s); values outside the range extrapolate."""
        a, b = self._bounds()
        if self.scaling is ScalingType.Logarithmic:
            return (np.log(x) - math.log(a)) / (math.log(b) - math.log(a))
        if self.scaling is ScalingType.ReverseLogarithmic:
            va, vb = math.log1p(-a), math.log1p(-b)
            return (va - np.log1p(-x)) / (va - vb)
        return (x - a) / (b - a)

    def inverse(self, u: Array) -> Array:
        """Unit coordinate(s) to numeric value(s) (not rounded, not clipped)."""
        a, b = self._bounds()
        if self.scaling is ScalingType.Logarithmic:
            return np.exp(math.log(a) + u * (math.log(b) - math.log(a)))
        if self.scaling is ScalingType.ReverseLogarithmic:
            va, vb = math.log1p(-a), math.log1p(-b)
            return -np.expm1(va - u * (va - vb))
        return a + u * (b - a)

    def index(self, u: Array) -> NDArray[np.int64]:
        """Categorical slice index of unit coordinate(s)."""
        k = len(self.values)
        return np.clip(np.floor(u * k), 0, k - 1).astype(np.int64)

    def snap(self, u: Array) -> Array:
        """Unit coordinate(s) moved to the canonical point of the value they decode to."""
        if self.kind is Kind.Categorical:
            return (self.index(u) + 0.5) / len(self.values)
        if self.kind is Kind.Integer:
            inside = (u >= 0.0) & (u <= 1.0)
            rounded = np.round(self.inverse(u))
            rounded = np.where(inside, np.clip(rounded, self.low, self.high), rounded)
            return self.forward(rounded)
        return u

    def decode(self, u: float) -> str:
        """The hyperparameter string of a unit coordinate (clipped into the range)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind is Kind.Categorical:
            return self.values[int(self.index(np.array([u]))[0])]
        x = float(self.inverse(np.array([u]))[0])
        x = min(max(x, self.low), self.high)
        if self.kind is Kind.Integer:
            return str(int(min(max(round(x), self.low), self.high)))
        return format_number(x)

    def encode(self, text: str, *, strict: bool = True) -> float:
        """The unit coordinate of a hyperparameter string.

        ``strict`` refuses values outside the range; otherwise numeric values outside it extrapolate
        (coordinates outside [0, 1]) as long as the scaling can express them.
        """
        field_name = f"hyperparameter {self.name}"
        if self.kind is Kind.Categorical:
            if text not in self.values:
                raise ValidationError(field_name, f"{text!r} is not one of {', '.join(self.values)}")
            return (self.values.index(text) + 0.5) / len(self.values)
        try:
            x = float(int(text)) if self.kind is Kind.Integer else float(text)
        except ValueError:
            raise ValidationError(field_name, f"{text!r} is not a valid {self.kind.value.lower()}") from None
        if not math.isfinite(x):
            raise ValidationError(field_name, f"{text!r} is not finite")
        if strict and not self.low <= x <= self.high:
            raise ValidationError(field_name, f"{text} is outside [{self.low:g}, {self.high:g}]")
        if self.scaling is ScalingType.Logarithmic and x <= 0:
            raise ValidationError(field_name, f"{text} cannot be placed on a logarithmic scale")
        if self.scaling is ScalingType.ReverseLogarithmic and x >= 1:
            raise ValidationError(field_name, f"{text} cannot be placed on a reverse-logarithmic scale")
        return float(self.forward(np.array([x]))[0])


def _dimension(r: ContinuousParameterRange | IntegerParameterRange | CategoricalParameterRange) -> Dimension:
    if isinstance(r, CategoricalParameterRange):
        return Dimension(r.Name, Kind.Categorical, values=r.Values)
    kind = Kind.Integer if isinstance(r, IntegerParameterRange) else Kind.Continuous
    low, high = float(r.MinValue), float(r.MaxValue)
    return Dimension(r.Name, kind, low, high, resolve_scaling(r.ScalingType, low, high))


@dataclass(frozen=True)
class SearchSpace:
    """The parameters to tune, in unit-vector order (continuous, integer, categorical)."""

    dimensions: tuple[Dimension, ...]
    _offsets: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        offsets, at = [], 0
        for d in self.dimensions:
            offsets.append(at)
            at += d.width
        object.__setattr__(self, "_offsets", tuple(offsets))

    @classmethod
    def from_ranges(cls, ranges: ParameterRanges) -> SearchSpace:
        rs: list[ContinuousParameterRange | IntegerParameterRange | CategoricalParameterRange] = [
            *ranges.ContinuousParameterRanges,
            *ranges.IntegerParameterRanges,
            *ranges.CategoricalParameterRanges,
        ]
        return cls(tuple(_dimension(r) for r in rs))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    @property
    def n_params(self) -> int:
        return len(self.dimensions)

    @property
    def n_features(self) -> int:
        return sum(d.width for d in self.dimensions)

    @property
    def numeric(self) -> tuple[int, ...]:
        """Unit-vector positions of the numeric (continuous and integer) parameters."""
        return tuple(i for i, d in enumerate(self.dimensions) if d.kind is not Kind.Categorical)

    @property
    def size(self) -> int | None:
        """The number of distinct configurations, None when a continuous range makes it infinite."""
        total = 1
        for d in self.dimensions:
            n = d.size
            if n is None:
                return None
            total *= n
        return total

    def sample(self, rng: np.random.Generator, n: int) -> Array:
        """``n`` uniform unit vectors."""
        return rng.random((n, self.n_params))

    def decode(self, u: Array) -> dict[str, str]:
        """One unit vector to hyperparameter strings."""
        return {d.name: d.decode(float(v)) for d, v in zip(self.dimensions, u, strict=True)}

    def encode(self, hyperparameters: Mapping[str, str], *, strict: bool = True) -> Array:
        """Hyperparameter strings to a unit vector. Names outside the space are ignored."""
        missing = [d.name for d in self.dimensions if d.name not in hyperparameters]
        if missing:
            raise ValidationError(f"hyperparameter {missing[0]}", "is tuned but was not given")
        return np.array([d.encode(hyperparameters[d.name], strict=strict) for d in self.dimensions])

    def contains(self, hyperparameters: Mapping[str, str]) -> bool:
        """Whether every tuned parameter is given and lies inside its range."""
        try:
            self.encode(hyperparameters, strict=True)
        except ValidationError:
            return False
        return True

    def snap(self, units: Array) -> Array:
        """Unit vectors (rows) moved to the canonical points of the configurations they decode to."""
        out = np.array(units, dtype=float, copy=True)
        for i, d in enumerate(self.dimensions):
            if d.kind is not Kind.Continuous:
                out[:, i] = d.snap(out[:, i])
        return out

    def features(self, units: Array, *, relax: bool = False) -> Array:
        """GP features of unit vectors (rows): numeric coordinates, categoricals one-hot.

        ``relax`` keeps integer coordinates continuous (for gradient-based refinement); otherwise they
        are snapped to the integer they decode to.
        """
        units = np.atleast_2d(units)
        out = np.zeros((units.shape[0], self.n_features))
        for i, (d, at) in enumerate(zip(self.dimensions, self._offsets, strict=True)):
            col = units[:, i]
            if d.kind is Kind.Categorical:
                out[np.arange(units.shape[0]), at + d.index(col)] = 1.0
            elif d.kind is Kind.Integer and not relax:
                out[:, at] = d.snap(col)
            else:
                out[:, at] = col
        return out

    def feature_positions(self) -> tuple[int, ...]:
        """For each numeric parameter (in ``numeric`` order), the position of its GP feature."""
        return tuple(self._offsets[i] for i in self.numeric)

    def key(self, hyperparameters: Mapping[str, str]) -> tuple[str, ...]:
        """A hashable identity of a configuration (its strings in space order)."""
        return tuple(hyperparameters[name] for name in self.names)
