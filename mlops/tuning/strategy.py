"""The search-strategy interface: suggest hyperparameters, observe results.

A tuning service asks a ``SearchStrategy`` for ``Suggestion``s, runs one training job per suggestion,
and hands each finished job back as an ``Observation``. While a job runs, a ``StoppingRule`` (Hyperband,
or the median rule behind SageMaker's ``TrainingJobEarlyStoppingType=Auto``) may be asked whether it
should stop after each intermediate objective value.

The objective's direction is handled once, here: strategies see *losses* (``to_loss``: the value itself
when minimising, its negation when maximising) and always minimise. A failed job (``value`` None, NaN or
infinite) has no loss.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from mlops.core.algorithm import ObjectiveType
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.tuning import HyperParameterTuningJobObjective


class Suggestion(BaseModel):
    """One configuration to train. ``hyperparameters`` are strings, as SageMaker passes them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    hyperparameters: dict[str, str]


class Observation(BaseModel):
    """The outcome of one suggestion's training job.

    ``value`` is the final objective metric (None when the job failed); ``stopped_early`` says a stopping
    rule ended it; ``intermediate_values`` are the (step, value) pairs it reported while running.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    suggestion_id: str
    value: float | None
    stopped_early: bool = False
    intermediate_values: tuple[tuple[int, float], ...] = ()


@runtime_checkable
class SearchStrategy(Protocol):
    """Suggests configurations and learns from their results."""

    def suggest(self, n: int) -> list[Suggestion]:
        """Up to ``n`` new configurations (fewer, possibly none, once ``exhausted``)."""
        ...

    def observe(self, result: Observation) -> None:
        """Record the outcome of a suggestion's job."""
        ...

    @property
    def exhausted(self) -> bool:
        """True when the strategy has nothing left to suggest (a finished grid)."""
        ...


@runtime_checkable
class StoppingRule(Protocol):
    """Decides, for a running job reporting an intermediate objective value, whether to stop it."""

    def should_stop(self, suggestion_id: str, step: int, value: float) -> bool: ...

    def observe(self, result: Observation) -> None: ...


def to_loss(objective: HyperParameterTuningJobObjective, value: float | None) -> float | None:
    """The objective value as a loss to minimise; None for a failed job or a non-finite value."""
    if value is None or not math.isfinite(value):
        return None
    return value if objective.Type is ObjectiveType.Minimize else -value


def from_loss(objective: HyperParameterTuningJobObjective, loss: float) -> float:
    """The inverse of ``to_loss``."""
    return loss if objective.Type is ObjectiveType.Minimize else -loss


def check_count(n: int) -> None:
    if n < 0:
        raise ValidationError("n", f"cannot suggest a negative number of configurations ({n})")


class History:
    """Bookkeeping shared by the strategies: ids, pending suggestions, losses, the best so far."""

    def __init__(self, objective: HyperParameterTuningJobObjective) -> None:
        self.objective = objective
        self.suggestions: dict[str, Suggestion] = {}
        self.losses: dict[str, float | None] = {}
        self._count = 0

    def new(self, hyperparameters: dict[str, str]) -> Suggestion:
        self._count += 1
        suggestion = Suggestion(id=f"{self._count:03d}", hyperparameters=hyperparameters)
        self.suggestions[suggestion.id] = suggestion
        return suggestion

    def record(self, result: Observation) -> float | None:
        """Store the loss of an observed suggestion and return it."""
        if result.suggestion_id not in self.suggestions:
            raise NotFoundError("suggestion", result.suggestion_id, "observe only what this strategy suggested")
        if result.suggestion_id in self.losses:
            raise ConflictError(f"suggestion {result.suggestion_id!r} was already observed")
        loss = to_loss(self.objective, result.value)
        self.losses[result.suggestion_id] = loss
        return loss

    @property
    def pending(self) -> list[Suggestion]:
        """Suggestions handed out but not observed yet, oldest first."""
        return [s for i, s in self.suggestions.items() if i not in self.losses]

    def best(self) -> tuple[Suggestion, float] | None:
        """The best observed suggestion and its objective value (in the objective's own direction)."""
        scored = [(loss, i) for i, loss in self.losses.items() if loss is not None]
        if not scored:
            return None
        loss, i = min(scored)
        return self.suggestions[i], from_loss(self.objective, loss)
