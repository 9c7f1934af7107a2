"""SageMaker Clarify's bias metrics, from their published definitions.

Facet ``d`` is the sensitive group (the facet's named values, or values above a threshold), facet ``a``
the rest; ``n_a``, ``n_d`` count them; superscript (1)/(0) marks positive/negative observed labels,
a hat marks predicted labels. Every metric is a function of a small table of counts, written for numpy
arrays with any leading dimensions, so the same code gives the point value and a bootstrap of it
(multinomial draws of the table), which the bias monitor uses to tell drift from noise.

Pre-training (labels only): CI, DPL, KL, JS, LP, TVD, KS, CDDL.
Post-training (predictions, and labels where named): DPPL, DI, DCA, DCR, RD, DAR, DRR, AD, CDDPL, TE, FT.

Division follows Clarify: 0/0 is 0 and x/0 is ±infinity; a difference of two infinities of the same sign
is 0. The label-distribution metrics (KL, JS, LP, TVD, KS) use the label values present in both facets,
as Clarify's implementation does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRE_TRAINING = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING = ("DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT")

DESCRIPTIONS = {
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "KL": "Kullback-Liebler Divergence (KL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DI": "Disparate Impact (DI)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "RD": "Recall Difference (RD)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "TE": "Treatment Equality (TE)",
    "FT": "Flip Test (FT)",
}

# The value of a metric when there is no bias (DI is a ratio; every other metric a difference or divergence).
FAIR = {name: (1.0 if name == "DI" else 0.0) for name in DESCRIPTIONS}


def divide(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Clarify's division: 0/0 = 0, x/0 = ±inf."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b != 0, a / np.where(b != 0, b, 1.0), np.where(a == 0, 0.0, np.sign(a) * np.inf))
    return np.asarray(out)


def _difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x - y, with inf - inf = 0 (Clarify: both sides infinite means no difference)."""
    with np.errstate(invalid="ignore"):
        out = x - y
    return np.where(np.isinf(x) & np.isinf(y) & (np.sign(x) == np.sign(y)), 0.0, out)


# --- pre-training --------------------------------------------------------------------------------
# facet_counts[..., 0] = n_a, [..., 1] = n_d
# label_table[..., f, k] = rows of facet f (0 = a, 1 = d) with label value k
# binary_label_table[..., f, 1] = positive labels of facet f, [..., f, 0] = negative ones


def CI(facet_counts: np.ndarray) -> np.ndarray:
    """CI = (n_a - n_d) / (n_a + n_d)."""
    n_a, n_d = facet_counts[..., 0], facet_counts[..., 1]
    return divide(n_a - n_d, n_a + n_d)


def _positive_proportions(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q_a = divide(table[..., 0, 1], table[..., 0, :].sum(axis=-1))
    q_d = divide(table[..., 1, 1], table[..., 1, :].sum(axis=-1))
    return q_a, q_d


def DPL(binary_label_table: np.ndarray) -> np.ndarray:
    """DPL = q_a - q_d, q = n^(1) / n: the share of positive labels of each facet."""
    q_a, q_d = _positive_proportions(binary_label_table)
    return np.asarray(q_a - q_d)


def _label_distributions(label_table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p_a = divide(label_table[..., 0, :], label_table[..., 0, :].sum(axis=-1, keepdims=True))
    p_d = divide(label_table[..., 1, :], label_table[..., 1, :].sum(axis=-1, keepdims=True))
    both = (p_a > 0) & (p_d > 0)
    return p_a, p_d, both


def KL(label_table: np.ndarray) -> np.ndarray:
    """KL = sum_y P_a(y) log(P_a(y) / P_d(y))."""
    p_a, p_d, both = _label_distributions(label_table)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(both, p_a * np.log(np.where(both, p_a / np.where(both, p_d, 1.0), 1.0)), 0.0)
    return np.asarray(terms.sum(axis=-1))


def JS(label_table: np.ndarray) -> np.ndarray:
    """JS = 1/2 [KL(P_a, P) + KL(P_d, P)], P = (P_a + P_d) / 2."""
    p_a, p_d, both = _label_distributions(label_table)
    p = (p_a + p_d) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ka = np.where(both, p_a * np.log(np.where(both, p_a / np.where(both, p, 1.0), 1.0)), 0.0)
        kd = np.where(both, p_d * np.log(np.where(both, p_d / np.where(both, p, 1.0), 1.0)), 0.0)
    return np.asarray(0.5 * (ka.sum(axis=-1) + kd.sum(axis=-1)))


def LP(label_table: np.ndarray, p: float = 2.0) -> np.ndarray:
    """LP = (sum_y |P_a(y) - P_d(y)|^p)^(1/p), p = 2."""
    p_a, p_d, both = _label_distributions(label_table)
    gaps = np.where(both, np.abs(p_a - p_d), 0.0)
    return np.asarray((gaps**p).sum(axis=-1) ** (1 / p))


def TVD(label_table: np.ndarray) -> np.ndarray:
    """TVD = 1/2 sum_y |P_a(y) - P_d(y)| (half the L1 norm)."""
    p_a, p_d, both = _label_distributions(label_table)
    return np.asarray(0.5 * np.where(both, np.abs(p_a - p_d), 0.0).sum(axis=-1))


def KS(label_table: np.ndarray) -> np.ndarray:
    """KS = max_y |P_a(y) - P_d(y)|."""
    p_a, p_d, both = _label_distributions(label_table)
    return np.asarray(np.where(both, np.abs(p_a - p_d), 0.0).max(axis=-1))


def CDD(group_table: np.ndarray) -> np.ndarray:
    """CDD = (1/n) sum_i n_i DD_i over the groups i of the group variable, where
    DD_i = n_d^(0)_i / n^(0)_i - n_d^(1)_i / n^(1)_i: the share of the group's rejections that fall on
    facet d minus the share of its acceptances that do (0 where a group has none).
    ``group_table[..., i, f, o]``: rows of group i, facet f, outcome o (label for CDDL, prediction for CDDPL)."""
    rejected, accepted = group_table[..., :, :, 0], group_table[..., :, :, 1]
    rej_d = np.where(rejected.sum(axis=-1) > 0, divide(rejected[..., 1], rejected.sum(axis=-1)), 0.0)
    acc_d = np.where(accepted.sum(axis=-1) > 0, divide(accepted[..., 1], accepted.sum(axis=-1)), 0.0)
    n_i = group_table.sum(axis=(-1, -2))
    return divide((n_i * (rej_d - acc_d)).sum(axis=-1), n_i.sum(axis=-1))


CDDL = CDD


# --- post-training -------------------------------------------------------------------------------
# prediction_table[..., f, 1] = predicted positive rows of facet f, [..., f, 0] predicted negative
# confusion[..., f, y, yhat] = rows of facet f with observed label y and predicted label yhat


def DPPL(prediction_table: np.ndarray) -> np.ndarray:
    """DPPL = q^_a - q^_d, q^ = n^(1) / n: the share of positive predictions of each facet."""
    q_a, q_d = _positive_proportions(prediction_table)
    return np.asarray(q_a - q_d)


def DI(prediction_table: np.ndarray) -> np.ndarray:
    """DI = q^_d / q^_a."""
    q_a, q_d = _positive_proportions(prediction_table)
    return divide(q_d, q_a)


CDDPL = CDD


def _cells(confusion: np.ndarray, f: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP, FN, TN of facet f."""
    c = confusion[..., f, :, :]
    return c[..., 1, 1], c[..., 0, 1], c[..., 1, 0], c[..., 0, 0]


def DCA(confusion: np.ndarray) -> np.ndarray:
    """DCA = c_a - c_d, c = n^(1) / n^^(1): observed positives per predicted positive."""
    tp_a, fp_a, fn_a, _ = _cells(confusion, 0)
    tp_d, fp_d, fn_d, _ = _cells(confusion, 1)
    return _difference(divide(tp_a + fn_a, tp_a + fp_a), divide(tp_d + fn_d, tp_d + fp_d))


def DCR(confusion: np.ndarray) -> np.ndarray:
    """DCR = r_d - r_a, r = n^(0) / n^^(0): observed negatives per predicted negative."""
    _, fp_a, fn_a, tn_a = _cells(confusion, 0)
    _, fp_d, fn_d, tn_d = _cells(confusion, 1)
    return _difference(divide(tn_d + fp_d, tn_d + fn_d), divide(tn_a + fp_a, tn_a + fn_a))


def RD(confusion: np.ndarray) -> np.ndarray:
    """RD = recall_a - recall_d, recall = TP / (TP + FN)."""
    tp_a, _, fn_a, _ = _cells(confusion, 0)
    tp_d, _, fn_d, _ = _cells(confusion, 1)
    return _difference(divide(tp_a, tp_a + fn_a), divide(tp_d, tp_d + fn_d))


def DAR(confusion: np.ndarray) -> np.ndarray:
    """DAR = TP_a / (TP_a + FP_a) - TP_d / (TP_d + FP_d) (the difference in precision)."""
    tp_a, fp_a, _, _ = _cells(confusion, 0)
    tp_d, fp_d, _, _ = _cells(confusion, 1)
    return _difference(divide(tp_a, tp_a + fp_a), divide(tp_d, tp_d + fp_d))


def DRR(confusion: np.ndarray) -> np.ndarray:
    """DRR = TN_d / (TN_d + FN_d) - TN_a / (TN_a + FN_a)."""
    _, _, fn_a, tn_a = _cells(confusion, 0)
    _, _, fn_d, tn_d = _cells(confusion, 1)
    return _difference(divide(tn_d, tn_d + fn_d), divide(tn_a, tn_a + fn_a))


def AD(confusion: np.ndarray) -> np.ndarray:
    """AD = ACC_a - ACC_d, ACC = (TP + TN) / n."""
    tp_a, fp_a, fn_a, tn_a = _cells(confusion, 0)
    tp_d, fp_d, fn_d, tn_d = _cells(confusion, 1)
    return _difference(divide(tp_a + tn_a, tp_a + fp_a + fn_a + tn_a), divide(tp_d + tn_d, tp_d + fp_d + fn_d + tn_d))


def TE(confusion: np.ndarray) -> np.ndarray:
    """TE = FN_d / FP_d - FN_a / FP_a."""
    _, fp_a, fn_a, _ = _cells(confusion, 0)
    _, fp_d, fn_d, _ = _cells(confusion, 1)
    return _difference(divide(fn_d, fp_d), divide(fn_a, fp_a))


@dataclass(frozen=True)
class FlipTest:
    value: float
    flipped_positive: int  # F+: predicted positive, while most of its nearest facet-a neighbours are not
    flipped_negative: int  # F-: predicted negative, while most of its nearest facet-a neighbours are positive
    n_d: int

    @property
    def standard_error(self) -> float:
        return float(np.sqrt(self.flipped_positive + self.flipped_negative) / self.n_d) if self.n_d else 0.0


def FT(features: np.ndarray, facet_d: np.ndarray, predicted_positive: np.ndarray, k: int = 5) -> FlipTest:
    """FT = (F+ - F-) / n_d: each member of facet d gets the majority prediction of its k nearest
    neighbours in facet a (k = 5, or 1 with fewer than 10 members of facet a), as if it were in facet a;
    F+ counts the members whose own prediction is positive and the neighbours' negative, F- the reverse."""
    from sklearn.neighbors import KNeighborsClassifier

    d, a = facet_d.astype(bool), ~facet_d.astype(bool)
    n_d, n_a = int(d.sum()), int(a.sum())
    if n_d == 0 or n_a == 0:
        return FlipTest(float("nan"), 0, 0, n_d)
    neighbours = k if n_a > 9 else 1
    knn = KNeighborsClassifier(n_neighbors=min(neighbours, n_a))
    knn.fit(features[a], predicted_positive[a].astype(int))
    as_if_a = knn.predict(features[d]).astype(bool)
    own = predicted_positive[d].astype(bool)
    plus, minus = int(np.sum(own & ~as_if_a)), int(np.sum(~own & as_if_a))
    return FlipTest((plus - minus) / n_d, plus, minus, n_d)
