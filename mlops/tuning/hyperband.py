"""Hyperband (Li et al., JMLR 2018), run asynchronously over training jobs that report as they go.

**Resource** = the step a job reports its objective at (epochs, boosting rounds). ``max_resource`` (R) is a
job's full length, e.g. the largest ``num_round`` worth training; ``min_resource`` (r) is the first step at
which the metric says something about the final result (SageMaker's ``HyperbandStrategyConfig``
MinResource and MaxResource). ``eta`` = 3, Li et al.'s default: each rung keeps the best third.

**Brackets.** With ``s_max = floor(log_eta(R / r))``, bracket s (s_max down to 0) is successive halving
whose rungs are at ``R * eta^-s, R * eta^(1-s), ..., R`` (rounded, at least r). Bracket s_max is the most
aggressive (many configurations, first judged after r steps); bracket 0 is plain random search with full
jobs. Li et al. give bracket s ``n_s = ceil((s_max + 1) / (s + 1) * eta^s)`` configurations; new
suggestions are dealt to brackets in those proportions, interleaved (smooth weighted round robin), so any
prefix of the run is a fair mix of brackets.

**Mapping to jobs.** Training jobs cannot be paused and resumed, so promotion is by not stopping: every job
is started for the full R steps (``resource_hyperparameter``, e.g. ``num_round``, set to R in its
hyperparameters when given) and reports its objective as it trains. When it first reports at or past a rung
of its bracket, its value joins that rung's record and ``should_stop`` decides at once (ASHA-style, Li et
al. 2020): the job continues if its value is among the best ``floor(k / eta)`` of the k values recorded at
that rung so far, or, while fewer than ``eta`` are recorded, if it is the best of them; otherwise it is
stopped. Without a ``resource_hyperparameter``, a job reaching R is told to stop. A job reporting a
non-finite value is stopped. New configurations are drawn uniformly at random from a seeded generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.tuning import HyperbandStrategyConfig, HyperParameterTuningJobObjective, ParameterRanges
from mlops.tuning.space import SearchSpace
from mlops.tuning.strategy import History, Observation, Suggestion, check_count, to_loss

DEFAULT_ETA = 3


@dataclass(frozen=True)
class Bracket:
    """One successive-halving bracket: ``rungs`` are the steps where jobs are judged (last = R)."""

    s: int
    rungs: tuple[int, ...]
    n_configs: int


def make_brackets(min_resource: int, max_resource: int, eta: int = DEFAULT_ETA) -> tuple[Bracket, ...]:
    if eta < 2:
        raise ValidationError("eta", f"must be at least 2, got {eta}")
    if not 1 <= min_resource < max_resource:
        raise ValidationError("min_resource", f"needs 1 <= min_resource < max_resource, got {min_resource}")
    s_max = math.floor(math.log(max_resource / min_resource) / math.log(eta) + 1e-9)
    out = []
    for s in range(s_max, -1, -1):
        rungs = sorted({max(min_resource, round(max_resource * eta ** (k - s))) for k in range(s + 1)})
        n = math.ceil((s_max + 1) / (s + 1) * eta**s)
        out.append(Bracket(s, tuple(rungs), n))
    return tuple(out)


@dataclass
class _Job:
    bracket: int
    rung: int = 0
    stopped: bool = False
    finished: bool = False
    steps: list[int] = field(default_factory=list)


class Hyperband:
    """Random configurations, judged and stopped at the rungs of their bracket. Also a ``StoppingRule``."""

    def __init__(
        self,
        ranges: ParameterRanges,
        objective: HyperParameterTuningJobObjective,
        seed: int = 0,
        *,
        min_resource: int = 1,
        max_resource: int,
        eta: int = DEFAULT_ETA,
        resource_hyperparameter: str | None = None,
    ) -> None:
        self.space = SearchSpace.from_ranges(ranges)
        if resource_hyperparameter is not None and resource_hyperparameter in self.space.names:
            raise ValidationError(
                f"ParameterRanges.{resource_hyperparameter}",
                "is Hyperband's resource; Hyperband sets it, so it cannot also be tuned",
            )
        self.history = History(objective)
        self.brackets = make_brackets(min_resource, max_resource, eta)
        self.eta = eta
        self.max_resource = max_resource
        self.resource_hyperparameter = resource_hyperparameter
        self._rng = np.random.default_rng(seed)
        self._credit = [0] * len(self.brackets)
        self._records: list[list[list[float]]] = [[[] for _ in b.rungs] for b in self.brackets]
        self._jobs: dict[str, _Job] = {}

    @classmethod
    def from_config(
        cls,
        ranges: ParameterRanges,
        objective: HyperParameterTuningJobObjective,
        config: HyperbandStrategyConfig,
        seed: int = 0,
        resource_hyperparameter: str | None = None,
    ) -> Hyperband:
        return cls(
            ranges,
            objective,
            seed,
            min_resource=config.MinResource,
            max_resource=config.MaxResource,
            resource_hyperparameter=resource_hyperparameter,
        )

    @property
    def exhausted(self) -> bool:
        return False

    def bracket_of(self, suggestion_id: str) -> Bracket:
        return self.brackets[self._job(suggestion_id).bracket]

    def suggest(self, n: int) -> list[Suggestion]:
        check_count(n)
        out = []
        for u in self.space.sample(self._rng, n):
            hyperparameters = self.space.decode(u)
            if self.resource_hyperparameter is not None:
                hyperparameters[self.resource_hyperparameter] = str(self.max_resource)
            suggestion = self.history.new(hyperparameters)
            self._jobs[suggestion.id] = _Job(self._next_bracket())
            out.append(suggestion)
        return out

    def _next_bracket(self) -> int:
        """Smooth weighted round robin over brackets, weights n_s."""
        total = sum(b.n_configs for b in self.brackets)
        for i, b in enumerate(self.brackets):
            self._credit[i] += b.n_configs
        chosen = max(range(len(self.brackets)), key=lambda i: self._credit[i])
        self._credit[chosen] -= total
        return chosen

    def _job(self, suggestion_id: str) -> _Job:
        job = self._jobs.get(suggestion_id)
        if job is None:
            raise NotFoundError("suggestion", suggestion_id, "Hyperband only judges jobs it suggested")
        return job

    def should_stop(self, suggestion_id: str, step: int, value: float) -> bool:
        job = self._job(suggestion_id)
        if job.stopped:
            return True
        if job.finished:
            return False
        loss = to_loss(self.history.objective, value)
        if loss is None:
            job.stopped = True
            return True
        job.steps.append(step)
        if not self._advance(job, step, loss, decide=True):
            job.stopped = True
            return True
        if self.resource_hyperparameter is None and step >= self.max_resource:
            job.stopped = True
            return True
        return False

    def _advance(self, job: _Job, step: int, loss: float, *, decide: bool) -> bool:
        """Record ``loss`` at every rung (before the last) that ``step`` reaches; False if the job loses."""
        rungs = self.brackets[job.bracket].rungs
        while job.rung < len(rungs) - 1 and step >= rungs[job.rung]:
            record = self._records[job.bracket][job.rung]
            record.append(loss)
            if decide and not self._promotable(loss, record):
                return False
            job.rung += 1
        return True

    def _promotable(self, loss: float, record: list[float]) -> bool:
        keep = len(record) // self.eta
        ordered = sorted(record)
        return loss <= ordered[max(keep, 1) - 1]

    def observe(self, result: Observation) -> None:
        self.history.record(result)
        job = self._job(result.suggestion_id)
        if not job.stopped:  # a job nobody asked about: its values still inform later rungs
            for step, value in sorted(result.intermediate_values):
                loss = to_loss(self.history.objective, value)
                if loss is not None and step not in job.steps:
                    self._advance(job, step, loss, decide=False)
        job.finished = True
