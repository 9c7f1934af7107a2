"""Clarify's bias metrics against values worked out by hand from the published definitions.

The worked example (10 rows; facet d = rows 0-3, facet a = rows 4-9; label 1 = positive)::

    row      0    1    2    3  |  4    5    6    7    8    9
    facet    d    d    d    d  |  a    a    a    a    a    a
    label    1    0    0    0  |  1    1    1    0    0    0
    pred     1    1    1    0  |  1    1    0    0    0    1
    group    x    x    y    y  |  x    x    x    y    y    y
    feature 2.1  3.1  4.9  0.9 | 0.0  1.0  2.0  3.0  4.0  5.0

n_a = 6, n_d = 4; labels: n_a(1) = 3, n_d(1) = 1, so P_a = (1/2, 1/2), P_d = (3/4, 1/4) over (0, 1);
predictions: n^_a(1) = 3, n^_d(1) = 3; confusion a: TP 2, FN 1, TN 2, FP 1; confusion d: TP 1, FP 2, TN 1, FN 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlops.monitoring import clarify
from mlops.monitoring.bias import _table

FACET_D = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
LABEL = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0])
PRED = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 1])
GROUP = np.array([0, 0, 1, 1, 0, 0, 0, 1, 1, 1])
FEATURE = np.array([[2.1], [3.1], [4.9], [0.9], [0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
F = FACET_D.astype(int)


def approx(value: object, expected: float) -> bool:
    return math.isclose(float(value), expected, rel_tol=1e-6, abs_tol=1e-9)  # type: ignore[arg-type]


def test_class_imbalance() -> None:
    """CI = (n_a - n_d) / (n_a + n_d) = (6 - 4) / 10 = 0.2."""
    assert approx(clarify.CI(_table((F, 2))), 0.2)


def test_difference_in_positive_proportions_in_labels() -> None:
    """DPL = q_a - q_d = 3/6 - 1/4 = 0.25."""
    assert approx(clarify.DPL(_table((F, 2), (LABEL, 2))), 0.25)


def test_label_distribution_divergences() -> None:
    """P_a = (1/2, 1/2), P_d = (3/4, 1/4).
    KL = 1/2 ln((1/2)/(3/4)) + 1/2 ln((1/2)/(1/4)) = 1/2 ln(4/3) = 0.1438410.
    JS: P = (5/8, 3/8); KL(P_a, P) = 1/2 ln(4/5) + 1/2 ln(4/3) = 0.0322693;
        KL(P_d, P) = 3/4 ln(6/5) + 1/4 ln(2/3) = 0.0353749; JS = (0.0322693 + 0.0353749) / 2 = 0.0338221.
    LP = sqrt(1/4^2 + 1/4^2) = 0.3535534;  TVD = (1/4 + 1/4) / 2 = 0.25;  KS = max(1/4, 1/4) = 0.25."""
    table = _table((F, 2), (LABEL, 2))
    assert approx(clarify.KL(table), 0.5 * math.log(4 / 3))
    js = 0.5 * (0.5 * math.log(0.8) + 0.5 * math.log(4 / 3) + 0.75 * math.log(1.2) + 0.25 * math.log(2 / 3))
    assert approx(clarify.JS(table), js) and abs(js - 0.0338221) < 1e-7
    assert approx(clarify.LP(table), math.sqrt(0.125))
    assert approx(clarify.TVD(table), 0.25)
    assert approx(clarify.KS(table), 0.25)


def test_conditional_demographic_disparity_in_labels() -> None:
    """Group x (rows 0, 1, 4, 5, 6): accepted 0, 4, 5, 6 (one of 4 in d), rejected 1 (1 of 1 in d):
    DD_x = 1/1 - 1/4 = 0.75. Group y (rows 2, 3, 7, 8, 9): no acceptance (0), rejected 5 (2 in d):
    DD_y = 2/5 - 0 = 0.4. CDDL = (5 * 0.75 + 5 * 0.4) / 10 = 0.575."""
    assert approx(clarify.CDDL(_table((GROUP, 2), (F, 2), (LABEL, 2))), 0.575)


def test_predicted_label_proportions() -> None:
    """q^_a = 3/6 = 0.5, q^_d = 3/4 = 0.75: DPPL = 0.5 - 0.75 = -0.25; DI = 0.75 / 0.5 = 1.5."""
    table = _table((F, 2), (PRED, 2))
    assert approx(clarify.DPPL(table), -0.25)
    assert approx(clarify.DI(table), 1.5)


def test_confusion_matrix_metrics() -> None:
    """a: TP 2, FN 1, TN 2, FP 1; d: TP 1, FP 2, TN 1, FN 0.
    DCA = c_a - c_d = (3/3) - (1/3) = 0.6666667   (c = observed positives / predicted positives)
    DCR = r_d - r_a = (3/1) - (3/3) = 2           (r = observed negatives / predicted negatives)
    RD  = 2/3 - 1/1 = -0.3333333                  (recall)
    DAR = 2/3 - 1/3 = 0.3333333                   (precision)
    DRR = TN_d/(TN_d+FN_d) - TN_a/(TN_a+FN_a) = 1/1 - 2/3 = 0.3333333
    AD  = 4/6 - 2/4 = 0.1666667                   (accuracy)
    TE  = FN_d/FP_d - FN_a/FP_a = 0/2 - 1/1 = -1"""
    confusion = _table((F, 2), (LABEL, 2), (PRED, 2))
    assert approx(clarify.DCA(confusion), 2 / 3)
    assert approx(clarify.DCR(confusion), 2.0)
    assert approx(clarify.RD(confusion), -1 / 3)
    assert approx(clarify.DAR(confusion), 1 / 3)
    assert approx(clarify.DRR(confusion), 1 / 3)
    assert approx(clarify.AD(confusion), 1 / 6)
    assert approx(clarify.TE(confusion), -1.0)


def test_conditional_demographic_disparity_in_predicted_labels() -> None:
    """Group x: accepted 0, 1, 4, 5 (2 of 4 in d), rejected 6 (0 in d): DD_x = 0 - 2/4 = -0.5.
    Group y: accepted 2, 9 (1 of 2 in d), rejected 3, 7, 8 (1 of 3 in d): DD_y = 1/3 - 1/2 = -1/6.
    CDDPL = (5 * -0.5 + 5 * -1/6) / 10 = -1/3."""
    assert approx(clarify.CDDPL(_table((GROUP, 2), (F, 2), (PRED, 2))), -1 / 3)


def test_flip_test() -> None:
    """Facet a has fewer than 10 members, so each member of d takes its single nearest neighbour in a:
    d at 2.1 -> a at 2.0 (predicted 0) while its own prediction is 1: F+;  3.1 -> 3.0 (0), own 1: F+;
    4.9 -> 5.0 (1), own 1: no flip;  0.9 -> 1.0 (1), own 0: F-.  FT = (F+ - F-) / n_d = (2 - 1) / 4 = 0.25."""
    result = clarify.FT(FEATURE, FACET_D, PRED.astype(bool))
    assert (result.flipped_positive, result.flipped_negative, result.n_d) == (2, 1, 4)
    assert approx(result.value, 0.25)


def test_clarify_division_rules_and_infinities() -> None:
    """Clarify's divide: 0/0 = 0 and x/0 = inf. DI with no positive prediction in a is infinite;
    TE with no false positives on either side is inf - inf, which Clarify reports as 0."""
    assert float(clarify.divide(0, 0)) == 0.0 and math.isinf(float(clarify.divide(1, 0)))
    no_a_positive = np.array([[3.0, 0.0], [1.0, 1.0]])  # facet a: 3 negatives; facet d: one of each
    assert math.isinf(float(clarify.DI(no_a_positive)))
    confusion = np.zeros((2, 2, 2))
    confusion[:, 1, 0] = 1  # one false negative per facet, no false positives
    assert float(clarify.TE(confusion)) == 0.0


def test_metrics_broadcast_over_bootstrap_draws() -> None:
    """The same functions take a stack of tables (draws, ...) and return one value per draw."""
    table = _table((F, 2), (PRED, 2))
    stacked = np.stack([table, table[::-1]])
    assert np.allclose(clarify.DPPL(stacked), [-0.25, 0.25])
    assert clarify.KL(np.stack([_table((F, 2), (LABEL, 2))] * 3)).shape == (3,)


@pytest.mark.parametrize("name", clarify.PRE_TRAINING + clarify.POST_TRAINING)
def test_every_metric_is_described_and_has_a_fair_value(name: str) -> None:
    assert clarify.DESCRIPTIONS[name].endswith(f"({name})")
    assert clarify.FAIR[name] == (1.0 if name == "DI" else 0.0)
