"""The Gaussian process and log-EI: analytic gradients match finite differences, log-EI is stable."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from mlops.tuning.acquisition import log_ei, log_ei_with_gradient, log_h
from mlops.tuning.gp import GaussianProcess, _neg_log_posterior


def _fitted(seed: int = 0) -> tuple[GaussianProcess, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((12, 3))
    y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2 - 0.5 * x[:, 2]
    gp = GaussianProcess(restarts=2, seed=seed)
    gp.fit(x, y)
    return gp, x


def test_log_h_matches_the_direct_formula_and_stays_finite_far_out():
    z = np.array([-5.0, -1.5, -1.0, -0.3, 0.0, 0.7, 3.0])
    direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    assert log_h(z) == pytest.approx(direct, rel=1e-9, abs=1e-12)
    far = log_h(np.array([-40.0, -400.0, -4000.0]))
    assert np.all(np.isfinite(far)) and np.all(np.diff(far) < 0)
    # asymptotically h(z) ~ phi(z) / z^2
    assert far[0] == pytest.approx(-0.5 * 40**2 - 0.5 * math.log(2 * math.pi) - 2 * math.log(40), abs=1e-2)


def test_marginal_likelihood_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.random((10, 2))
    y = rng.standard_normal(10)
    sq = (x[:, None, :] - x[None, :, :]) ** 2
    theta = np.array([0.2, -1.0, -0.5, -4.0])
    _, grad = _neg_log_posterior(theta, x, y, sq)
    eps = 1e-6
    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = eps
        numeric = (_neg_log_posterior(theta + step, x, y, sq)[0] - _neg_log_posterior(theta - step, x, y, sq)[0]) / (
            2 * eps
        )
        assert grad[i] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_prediction_and_log_ei_gradients_match_finite_differences():
    gp, _ = _fitted()
    point = np.array([0.3, 0.6, 0.2])
    mean, std, dmean, dstd = gp.predict_with_gradient(point)
    m2, s2 = gp.predict(point[None, :])
    assert (mean, std) == pytest.approx((m2[0], s2[0]))
    best = float(np.min(gp.ys))
    value, grad = log_ei_with_gradient(gp, point, best)
    assert value == pytest.approx(float(log_ei(m2, s2, best)[0]))
    eps = 1e-6
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        up, down = gp.predict((point + step)[None, :]), gp.predict((point - step)[None, :])
        assert dmean[i] == pytest.approx((up[0][0] - down[0][0]) / (2 * eps), rel=1e-4, abs=1e-6)
        assert dstd[i] == pytest.approx((up[1][0] - down[1][0]) / (2 * eps), rel=1e-4, abs=1e-6)
        numeric = (log_ei(*up, best)[0] - log_ei(*down, best)[0]) / (2 * eps)
        assert grad[i] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_gp_interpolates_and_fantasies_shrink_uncertainty_only():
    gp, x = _fitted()
    mean, std = gp.predict(x)
    assert mean == pytest.approx(gp.ys, abs=0.05)
    assert np.all(std < 0.2)
    new = np.array([[0.9, 0.1, 0.9]])
    before_mean, before_std = gp.predict(new + 0.01)
    believer = gp.with_fantasies(new)
    after_mean, after_std = believer.predict(new + 0.01)
    assert after_mean == pytest.approx(before_mean, abs=1e-6)
    assert after_std[0] < before_std[0]
