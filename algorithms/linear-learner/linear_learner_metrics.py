"""Evaluation metrics and the binary decision threshold, in numpy, with SageMaker Linear Learner's names.

Binary: ``binary_classification_accuracy``, ``binary_f_beta``, ``precision``, ``recall``,
``roc_auc_score``. Multiclass: ``multiclass_accuracy``, ``multiclass_top_k_accuracy``, ``dcg`` (mean of
1/log2(1 + rank of the true class)), ``macro_precision``, ``macro_recall``, ``macro_f_beta`` (averaged
over the classes present in the labels or the predictions, as scikit-learn does). Regression: ``mse``,
``rmse``, ``absolute_loss`` (mean absolute error). A class is predicted positive when its score is
strictly above the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CRITERIA = ("accuracy", "f_beta", "precision_at_target_recall", "recall_at_target_precision")


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def _f_beta(precision: np.ndarray, recall: np.ndarray, beta: float) -> np.ndarray:
    b2 = beta * beta
    return _ratio((1 + b2) * precision * recall, b2 * precision + recall)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (scipy.stats.rankdata's default, without scipy)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]
    ends = np.r_[starts[1:], ordered.size]
    group = np.repeat(np.arange(starts.size), ends - starts)
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = ((starts + ends + 1) / 2.0)[group]
    return ranks


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); NaN with one class only."""
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float, beta: float) -> dict[str, float]:
    predicted = scores > threshold
    positives = labels == 1
    tp = float(np.sum(predicted & positives))
    precision = float(_ratio(tp, predicted.sum()))
    recall = float(_ratio(tp, positives.sum()))
    return {
        "binary_classification_accuracy": float(np.mean(predicted == positives)),
        "binary_f_beta": float(_f_beta(np.array(precision), np.array(recall), beta)),
        "precision": precision,
        "recall": recall,
        "roc_auc_score": roc_auc(scores, labels),
    }


def multiclass_metrics(
    probabilities: np.ndarray, labels: np.ndarray, top_k: int, beta: float
) -> dict[str, float]:
    y = labels.astype(np.int64)
    n, k = probabilities.shape
    predicted = probabilities.argmax(axis=1)
    true_score = probabilities[np.arange(n), y]
    # rank 1 = best; ties count against the true class only for strictly higher scores
    rank = 1 + np.sum(probabilities > true_score[:, None], axis=1)
    classes = np.union1d(np.unique(y), np.unique(predicted))
    tp = np.array([np.sum((predicted == c) & (y == c)) for c in classes], dtype=np.float64)
    precision = _ratio(tp, np.array([np.sum(predicted == c) for c in classes]))
    recall = _ratio(tp, np.array([np.sum(y == c) for c in classes]))
    return {
        "multiclass_accuracy": float(np.mean(predicted == y)),
        "multiclass_top_k_accuracy": float(np.mean(rank <= min(top_k, k))),
        "dcg": float(np.mean(1.0 / np.log2(1.0 + rank))),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f_beta": float(_f_beta(precision, recall, beta).mean()),
    }


def regression_metrics(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    error = predictions.astype(np.float64) - labels.astype(np.float64)
    mse = float(np.mean(error * error))
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "absolute_loss": float(np.mean(np.abs(error)))}


@dataclass(frozen=True)
class Calibration:
    """A decision threshold and how good it is. ``feasible`` is False when a target was not reached."""

    threshold: float
    value: float
    feasible: bool = True


def choose_threshold(
    scores: np.ndarray,
    labels: np.ndarray,
    criterion: str,
    *,
    default: float,
    beta: float = 1.0,
    target_recall: float = 0.8,
    target_precision: float = 0.8,
) -> Calibration:
    """The threshold that maximises ``criterion`` on (scores, labels).

    Every cut between two distinct scores is a candidate (the threshold is put half-way, so that
    unseen scores in the gap fall on the side the data supports). Among equally good cuts the one
    nearest ``default`` wins. precision_at_target_recall maximises precision among the cuts whose
    recall reaches the target; recall_at_target_precision likewise. If no cut reaches the target,
    the result is marked infeasible and holds the cut nearest to it.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}")
    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(labels) == 1
    n, n_pos = scores.size, int(positives.sum())
    order = np.argsort(-scores, kind="stable")
    s, p = scores[order], positives[order]
    last = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last index of each group of equal scores
    tp = np.r_[0.0, np.cumsum(p)[last]]  # option j: the first j groups are predicted positive
    fp = np.r_[0.0, np.cumsum(~p)[last]]
    distinct = s[last]
    lower = np.r_[distinct[1:], distinct[-1] - max(1.0, abs(distinct[-1]))]
    thresholds = np.r_[distinct[0], (distinct + lower) / 2]
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, n_pos)
    feasible = np.ones_like(tp, dtype=bool)
    if criterion == "accuracy":
        value = (tp + (n - n_pos - fp)) / max(n, 1)
    elif criterion == "f_beta":
        value = _f_beta(precision, recall, beta)
    elif criterion == "precision_at_target_recall":
        feasible, value = recall >= target_recall - 1e-12, precision
    else:
        feasible, value = precision >= target_precision - 1e-12, recall
    if not feasible.any():  # fall back to the cut closest to the target
        value = recall if criterion == "precision_at_target_recall" else precision
        feasible = np.zeros_like(feasible)
        candidates = np.flatnonzero(value >= value.max() - 1e-12)
    else:
        best = value[feasible].max()
        candidates = np.flatnonzero(feasible & (value >= best - 1e-12))
    pick = candidates[np.argmin(np.abs(thresholds[candidates] - default))]
    return Calibration(float(thresholds[pick]), float(value[pick]), bool(feasible[pick]))
