"""Expected Improvement (for minimisation), computed in log space, and its maximisation.

Log-EI (Ament et al., "Unexpected Improvements to Expected Improvement", 2023) stays finite and smooth far
from the incumbent, where plain EI underflows to zero and leaves the optimiser without a gradient.
``EI(x) = s * h(z)`` with ``z = (best - m) / s`` and ``h(z) = phi(z) + z Phi(z)``.

Maximisation: random candidates in the unit cube plus perturbations of the best points seen, scored in
one vectorised pass; then L-BFGS-B from the best few over the numeric coordinates (categoricals held),
with integers relaxed during the refinement and snapped afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr

from mlops.tuning.gp import GaussianProcess
from mlops.tuning.space import Kind, SearchSpace

Array = NDArray[np.float64]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_HALF_PI = math.sqrt(math.pi / 2)


def log_h(z: Array) -> Array:
    """``log(phi(z) + z Phi(z))``, accurate for very negative ``z``."""
    z = np.maximum(np.asarray(z, dtype=float), -1e6)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu * zu - _LOG_SQRT_2PI) + zu * np.exp(log_ndtr(zu)))
    zl = z[~upper]
    # h = phi(z) (1 + z Phi(z)/phi(z)) and Phi/phi = sqrt(pi/2) erfcx(-z/sqrt2)
    out[~upper] = -0.5 * zl * zl - _LOG_SQRT_2PI + np.log1p(zl * _SQRT_HALF_PI * erfcx(-zl / math.sqrt(2)))
    return out


def log_ei(mean: Array, std: Array, best: float) -> Array:
    """Log expected improvement below ``best``."""
    z = (best - mean) / std
    return np.log(std) + log_h(z)


def log_ei_with_gradient(gp: GaussianProcess, x: Array, best: float) -> tuple[float, Array]:
    """Log-EI at one feature vector and its gradient in the features."""
    mean, std, dmean, dstd = gp.predict_with_gradient(x)
    z = (best - mean) / std
    lh = float(log_h(np.array([z]))[0])
    value = math.log(std) + lh
    # dEI/dmean = -Phi(z), dEI/dstd = phi(z); divide by EI = std * h(z)
    cdf_over_h = math.exp(float(log_ndtr(z)) - lh)
    pdf_over_h = math.exp(-0.5 * z * z - _LOG_SQRT_2PI - lh)
    grad = (-cdf_over_h * dmean + pdf_over_h * dstd) / std
    return value, grad


def _perturb(space: SearchSpace, rng: np.random.Generator, anchors: Array, per_anchor: int) -> Array:
    if len(anchors) == 0:
        return np.empty((0, space.n_params))
    out = np.repeat(anchors, per_anchor, axis=0)
    scale = np.where(rng.random(len(out)) < 0.5, 0.02, 0.15)[:, None]
    numeric = [i for i, d in enumerate(space.dimensions) if d.kind is not Kind.Categorical]
    out[:, numeric] = np.clip(out[:, numeric] + scale * rng.standard_normal((len(out), len(numeric))), 0, 1)
    for i, d in enumerate(space.dimensions):
        if d.kind is Kind.Categorical:
            flip = rng.random(len(out)) < 0.2
            out[flip, i] = rng.random(int(flip.sum()))
    return out


def maximise_log_ei(
    gp: GaussianProcess,
    space: SearchSpace,
    best: float,
    rng: np.random.Generator,
    anchors: Array,
    is_taken: Callable[[Array], bool],
    n_random: int = 2000,
    n_refine: int = 5,
) -> Array | None:
    """The unit vector with the highest log-EI that ``is_taken`` does not reject, or None.

    ``anchors`` are unit vectors (the best observed points) around which extra candidates are drawn.
    """
    candidates = np.vstack([space.sample(rng, n_random), _perturb(space, rng, anchors, 100)])
    candidates = space.snap(candidates)
    mean, std = gp.predict(space.features(candidates))
    scores = log_ei(mean, std, best)
    order = np.argsort(-scores)
    scored: list[tuple[float, Array]] = [(float(scores[i]), candidates[i]) for i in order[: 20 * n_refine]]

    numeric = list(space.numeric)
    positions = list(space.feature_positions())
    if numeric:
        for _, start in scored[:n_refine]:
            refined = _refine(gp, space, best, start, numeric, positions)
            if refined is not None:
                value = float(log_ei(*gp.predict(space.features(refined[None, :])), best)[0])
                scored.append((value, refined))
    scored.sort(key=lambda item: -item[0])
    for _, u in scored:
        if not is_taken(u):
            return u
    return None


def _refine(
    gp: GaussianProcess, space: SearchSpace, best: float, start: Array, numeric: list[int], positions: list[int]
) -> Array | None:
    def objective(v: Array) -> tuple[float, Array]:
        u = start.copy()
        u[numeric] = v
        value, grad = log_ei_with_gradient(gp, space.features(u[None, :], relax=True)[0], best)
        if not math.isfinite(value):
            return 1e10, np.zeros_like(v)
        return -value, -grad[positions]

    try:
        res = minimize(
            objective,
            start[numeric],
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * len(numeric),
            options={"maxiter": 50},
        )
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None
    u = start.copy()
    u[numeric] = np.clip(res.x, 0.0, 1.0)
    refined: Array = space.snap(u[None, :])[0]
    return refined
