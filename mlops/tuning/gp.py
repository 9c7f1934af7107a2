"""A small Gaussian process for Bayesian optimisation: Matérn-5/2 ARD kernel, numpy and scipy only.

Inputs are features in (or near) the unit cube; outputs are standardised (zero mean, unit variance) before
fitting. The kernel's output scale, one length scale per feature and the noise variance are fitted by
maximising the log marginal likelihood plus weak log-normal priors (a MAP estimate, which keeps the fit
sane with a handful of points), with L-BFGS-B and analytic gradients from ``restarts + 1`` starting points:
the prior's centre, the previous fit (if any) and draws from the prior.

Priors, in log space (outputs standardised, inputs in [0, 1]):

* output scale ``s2``: log-normal centred on 1, sd 1;
* length scales: log-normal with median ``0.5 * sqrt(D)`` (longer in more dimensions, after Hvarfner et
  al. 2024), sd 1;
* noise: log-normal with median 1e-3, sd 2.5, bounded to [1e-6, 1]: near-deterministic objectives stay
  interpolated, rough ones (validation metrics) can claim noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize

try:  # installed with scikit-learn; optional here
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

Array = NDArray[np.float64]

SQRT5 = math.sqrt(5.0)
JITTER = 1e-9
LOG_S2_BOUNDS = (math.log(0.05), math.log(20.0))
LOG_LENGTH_BOUNDS = (math.log(0.01), math.log(30.0))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))


@dataclass(frozen=True)
class KernelParams:
    """Matérn-5/2 ARD hyperparameters."""

    outputscale: float
    lengthscales: Array
    noise: float

    def to_vector(self) -> Array:
        return np.concatenate([[math.log(self.outputscale)], np.log(self.lengthscales), [math.log(self.noise)]])

    @classmethod
    def from_vector(cls, theta: Array) -> KernelParams:
        return cls(float(np.exp(theta[0])), np.exp(theta[1:-1]), float(np.exp(theta[-1])))


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread: the matrices here are tiny, and on a busy machine BLAS worker threads
    (which scipy's L-BFGS-B also wakes) cost far more than they save."""
    if threadpool_limits is None:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def matern52(a: Array, b: Array, params: KernelParams) -> Array:
    """The kernel matrix between rows of ``a`` and rows of ``b``."""
    diff = (a[:, None, :] - b[None, :, :]) / params.lengthscales
    r = np.sqrt(np.sum(diff * diff, axis=-1))
    k: Array = params.outputscale * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-SQRT5 * r)
    return k


def _prior(dim: int) -> tuple[Array, Array]:
    """Means and standard deviations of the log-normal priors, in the order of ``to_vector``."""
    mean = np.concatenate([[0.0], np.full(dim, math.log(0.5 * math.sqrt(dim))), [math.log(1e-3)]])
    sd = np.concatenate([[1.0], np.full(dim, 1.0), [2.5]])
    return mean, sd


def _neg_log_posterior(theta: Array, x: Array, y: Array, sq: Array) -> tuple[float, Array]:
    """Negative log marginal likelihood plus negative log prior, and its gradient in ``theta``.

    ``sq`` holds the per-feature squared differences between the inputs, shape (n, n, D).
    """
    n, dim = x.shape
    s2, noise = math.exp(theta[0]), math.exp(theta[-1])
    inv_l2 = np.exp(-2.0 * theta[1:-1])
    r2 = sq @ inv_l2
    r = np.sqrt(r2)
    e = np.exp(-SQRT5 * r)
    k = s2 * (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e
    cov = k + (noise + JITTER) * np.eye(n)
    try:
        chol = cholesky(cov, lower=True)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve((chol, True), y)
    nll = 0.5 * float(y @ alpha) + float(np.sum(np.log(np.diag(chol)))) + 0.5 * n * math.log(2 * math.pi)
    w = cho_solve((chol, True), np.eye(n)) - np.outer(alpha, alpha)
    grad = np.empty_like(theta)
    grad[0] = 0.5 * float(np.sum(w * k))
    common = s2 * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e
    # dK/dlog l_d = common * sq_d / l_d^2
    grad[1:-1] = 0.5 * np.einsum("ij,ijd->d", w * common, sq) * inv_l2
    grad[-1] = 0.5 * noise * float(np.trace(w))
    mean, sd = _prior(dim)
    z = (theta - mean) / sd
    return nll + 0.5 * float(z @ z), grad + z / sd


class GaussianProcess:
    """Fit with ``fit``; then ``predict`` the latent function's mean and standard deviation.

    Predictions are in standardised units (``standardise`` maps raw outputs there), which is all the
    acquisition function needs.
    """

    def __init__(self, restarts: int = 3, seed: int = 0) -> None:
        self.restarts = restarts
        self._rng = np.random.default_rng(seed)
        self._theta: Array | None = None
        self.params: KernelParams | None = None
        self.y_mean = 0.0
        self.y_std = 1.0

    def standardise(self, y: Array) -> Array:
        return (np.asarray(y, dtype=float) - self.y_mean) / self.y_std

    def fit(self, x: Array, y: Array) -> None:
        """Standardise ``y`` and fit the kernel hyperparameters (MAP) to the data."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.y_mean = float(np.mean(y))
        std = float(np.std(y))
        self.y_std = std if std > 1e-12 else 1.0
        ys = self.standardise(y)
        dim = x.shape[1]
        sq = (x[:, None, :] - x[None, :, :]) ** 2
        mean, sd = _prior(dim)
        bounds = [LOG_S2_BOUNDS, *([LOG_LENGTH_BOUNDS] * dim), LOG_NOISE_BOUNDS]
        low = np.array([b[0] for b in bounds])
        high = np.array([b[1] for b in bounds])
        starts = [np.clip(mean, low, high)]
        if self._theta is not None and self._theta.shape == mean.shape:
            starts.append(self._theta)
        while len(starts) < self.restarts + 1:
            starts.append(np.clip(mean + sd * self._rng.standard_normal(mean.shape) * 0.7, low, high))
        best: tuple[float, Array] | None = None
        for start in starts:
            res = minimize(
                _neg_log_posterior,
                start,
                args=(x, ys, sq),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 200},
            )
            if best is None or res.fun < best[0]:
                best = (float(res.fun), np.asarray(res.x, dtype=float))
        assert best is not None
        self._theta = best[1]
        self.condition(x, ys, KernelParams.from_vector(best[1]))

    def condition(self, x: Array, ys: Array, params: KernelParams) -> None:
        """Set the data (``ys`` already standardised) for fixed hyperparameters."""
        self.params = params
        self.x = np.asarray(x, dtype=float)
        self.ys = np.asarray(ys, dtype=float)
        cov = matern52(self.x, self.x, params) + (params.noise + JITTER) * np.eye(len(self.x))
        self._chol = cholesky(cov, lower=True)
        self._alpha = cho_solve((self._chol, True), self.ys)

    def with_fantasies(self, x_new: Array) -> GaussianProcess:
        """A copy that believes its own mean at ``x_new`` (kriging believer): the mean is unchanged,
        the uncertainty around ``x_new`` shrinks. Hyperparameters are kept."""
        assert self.params is not None
        x_new = np.atleast_2d(x_new)
        if len(x_new) == 0:
            return self
        believed, _ = self.predict(x_new)
        other = GaussianProcess(self.restarts)
        other.y_mean, other.y_std, other._theta = self.y_mean, self.y_std, self._theta
        other.condition(np.vstack([self.x, x_new]), np.concatenate([self.ys, believed]), self.params)
        return other

    def predict(self, xs: Array) -> tuple[Array, Array]:
        """Posterior mean and standard deviation of the latent function, standardised units."""
        assert self.params is not None
        ks = matern52(np.atleast_2d(xs), self.x, self.params)
        mean = ks @ self._alpha
        v = solve_triangular(self._chol, ks.T, lower=True)
        var = np.maximum(self.params.outputscale - np.sum(v * v, axis=0), 1e-12)
        return mean, np.sqrt(var)

    def predict_with_gradient(self, x: Array) -> tuple[float, float, Array, Array]:
        """Mean, standard deviation and their gradients at one point ``x`` (1-D)."""
        assert self.params is not None
        p = self.params
        diff = (x[None, :] - self.x) / p.lengthscales  # (n, D)
        r = np.sqrt(np.sum(diff * diff, axis=1))
        e = np.exp(-SQRT5 * r)
        ks = p.outputscale * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * e
        # dk_i/dx = -5/3 s2 (1 + sqrt5 r) e^{-sqrt5 r} (x - x_i) / l^2
        dks = (-5.0 / 3.0 * p.outputscale * (1.0 + SQRT5 * r) * e)[:, None] * (diff / p.lengthscales)
        mean = float(ks @ self._alpha)
        dmean = dks.T @ self._alpha
        kinv_k = cho_solve((self._chol, True), ks)
        var = p.outputscale - float(ks @ kinv_k)
        if var <= 1e-12:
            return mean, 1e-6, dmean, np.zeros_like(x)
        std = math.sqrt(var)
        dvar = -2.0 * (dks.T @ kinv_k)
        return mean, std, dmean, dvar / (2.0 * std)
