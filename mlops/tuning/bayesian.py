"""Bayesian optimisation: a Gaussian-process surrogate over the scaled space and Expected Improvement.

* Initial design: ``max(3, d + 1)`` points (d = number of tuned parameters) from a seeded Latin hypercube,
  fewer when warm start brings observations.
* Surrogate: ``mlops.tuning.gp`` (Matérn-5/2 ARD, MAP-fitted, standardised outputs) on the features of
  ``mlops.tuning.space`` (unit cube, integers snapped, categoricals one-hot).
* Outputs: losses are winsorised (``winsorise``: the bad tail clipped at median + 1.5 IQR) before the
  GP standardises them.
* Acquisition: log Expected Improvement, maximised by random candidates and L-BFGS-B refinement
  (``mlops.tuning.acquisition``). The incumbent is the lowest posterior mean at an observed point (the
  "plug-in" incumbent, robust when validation metrics are noisy) rather than the lowest raw loss.
* Parallel suggestions: kriging believer. Every suggestion still pending (handed out earlier, or earlier in
  the same batch) is added to the surrogate at its predicted mean, which shrinks the uncertainty there so
  the next maximum of EI lies elsewhere; a configuration already suggested is never suggested again.
* Failed jobs are imputed with the worst loss observed, which steers the search away from them.
* Jobs stopped early count with the value they reached.
* Warm start: parent jobs' observations (``mlops.tuning.warm_start``) join the data from the start.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.stats import qmc

from mlops.core.tuning import (
    HyperParameterTrainingJobSummary,
    HyperParameterTuningJobObjective,
    HyperParameterTuningJobWarmStartConfig,
    ParameterRanges,
)
from mlops.tuning.acquisition import maximise_log_ei
from mlops.tuning.gp import GaussianProcess, single_threaded_blas
from mlops.tuning.space import Kind, SearchSpace
from mlops.tuning.strategy import History, Observation, Suggestion, check_count
from mlops.tuning.warm_start import warm_start_points

Array = NDArray[np.float64]


def winsorise(losses: Array) -> Array:
    """Clip the bad tail: losses above ``median + 1.5 * IQR`` are set to that fence.

    A few disastrous configurations (a learning rate that never converges) would otherwise set the
    scale of the standardised outputs and flatten the region that matters. Order among the good half is
    untouched, so the search still finds the best; only how bad the worst are is forgotten.
    """
    q25, q50, q75 = np.percentile(losses, [25, 50, 75])
    fence = q50 + 1.5 * (q75 - q25)
    clipped: Array = np.minimum(losses, fence)
    return clipped


class BayesianOptimization:
    """GP-based suggestions (see the module docstring). ``n_initial`` overrides the initial design's size;
    ``warm_start`` and ``parent_jobs`` seed the data with parent tuning jobs' results. ``exhausted`` only
    turns True on a finite (integer and categorical) space whose every configuration was suggested."""

    def __init__(
        self,
        ranges: ParameterRanges,
        objective: HyperParameterTuningJobObjective,
        seed: int = 0,
        *,
        n_initial: int | None = None,
        warm_start: HyperParameterTuningJobWarmStartConfig | None = None,
        parent_jobs: Sequence[HyperParameterTrainingJobSummary] = (),
        restarts: int = 3,
    ) -> None:
        self.space = SearchSpace.from_ranges(ranges)
        self.history = History(objective)
        self._rng = np.random.default_rng(seed)
        self._gp = GaussianProcess(restarts=restarts, seed=seed)
        self.prior = warm_start_points(self.space, objective, warm_start, parent_jobs) if warm_start else []
        wanted = n_initial if n_initial is not None else max(3, self.space.n_params + 1)
        count = max(0, wanted - len(self.prior))
        self._initial = list(qmc.LatinHypercube(d=self.space.n_params, seed=seed).random(count)) if count else []
        self._units: dict[str, Array] = {}
        self._taken: set[tuple[str, ...]] = {p.hyperparameters for p in self.prior}

    @property
    def exhausted(self) -> bool:
        size = self.space.size
        return size is not None and len(self._taken) >= size

    def suggest(self, n: int) -> list[Suggestion]:
        check_count(n)
        with single_threaded_blas():
            return self._suggest(n)

    def _suggest(self, n: int) -> list[Suggestion]:
        out: list[Suggestion] = []
        gp: GaussianProcess | None = None
        while len(out) < n and not self.exhausted:
            unit: Array | None = None
            if self._initial:
                unit = self._initial.pop(0)
            else:
                x, y = self._data()
                if len(y) >= 2:
                    if gp is None:
                        self._gp.fit(self.space.features(x), winsorise(y))
                        gp = self._gp
                    unit = self._maximise(gp, x, y)
            if unit is None or self._is_taken(unit):
                unit = self._random_untaken()
            if unit is None:
                break
            out.append(self._hand_out(unit))
        return out

    def observe(self, result: Observation) -> None:
        self.history.record(result)

    def _hand_out(self, unit: Array) -> Suggestion:
        hyperparameters = self.space.decode(unit)
        self._taken.add(self.space.key(hyperparameters))
        suggestion = self.history.new(hyperparameters)
        self._units[suggestion.id] = self.space.snap(unit[None, :])[0]
        return suggestion

    def _is_taken(self, unit: Array) -> bool:
        return self.space.key(self.space.decode(unit)) in self._taken

    def _random_untaken(self) -> Array | None:
        for u in self.space.sample(self._rng, 200):
            if not self._is_taken(u):
                return np.asarray(u)
        if self.space.size is None:
            return None
        # a finite space nearly used up: walk it for what is left
        axes = []
        for d in self.space.dimensions:
            if d.kind is Kind.Categorical:
                axes.append([(i + 0.5) / len(d.values) for i in range(len(d.values))])
            else:
                axes.append([float(d.forward(np.array([k]))[0]) for k in range(int(d.low), int(d.high) + 1)])
        for point in itertools.product(*axes):
            u = np.array(point)
            if not self._is_taken(u):
                return u
        return None

    def _data(self) -> tuple[Array, Array]:
        """Unit vectors and losses of everything observed (failures imputed) plus warm-start points."""
        units = [p.unit for p in self.prior]
        losses: list[float | None] = [p.loss for p in self.prior]
        for sid, loss in self.history.losses.items():
            units.append(self._units[sid])
            losses.append(loss)
        finite = [v for v in losses if v is not None]
        if not finite:
            return np.empty((0, self.space.n_params)), np.empty(0)
        worst = max(finite)
        y = np.array([worst if v is None else v for v in losses])
        return np.array(units), y

    def _maximise(self, gp: GaussianProcess, x: Array, y: Array) -> Array | None:
        pending = [self._units[s.id] for s in self.history.pending]
        believer = gp.with_fantasies(self.space.features(np.array(pending))) if pending else gp
        best = float(np.min(believer.predict(believer.x)[0]))
        anchors = x[np.argsort(y)[:5]]
        return maximise_log_ei(believer, self.space, best, self._rng, anchors, self._is_taken)
