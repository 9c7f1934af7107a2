"""The model-quality monitor: captured predictions joined with ground truth, Model Monitor's metrics and
constraints (``binary_classification_constraints`` …, comparison operators such as LessThanThreshold).

Suggested thresholds sit a tolerance away from the baseline's value (Model Monitor suggests the value
itself, which pages on every unlucky window); edit ``model-quality/constraints.json`` to tighten them.
Ours: ``label_positive_rate`` (the share of positive labels), checked with
DeviationGreaterThanThreshold, which catches a shift of the label distribution directly.

A window of n labelled rows is a violation only when its metric is worse than the threshold by more than
the sampling noise: the noise band is z * sqrt(SE(n)^2 + SE(m)^2), SE from the baseline's bootstrap
standard deviation (``standard_deviation`` of b = min(m, BOOTSTRAP_ROWS) rows, scaled by sqrt(b / n)), m the
baseline's rows, z the one-sided normal quantile at alpha / k (two-sided for a deviation), alpha the monitor's
``FalseAlarmRate`` and k the number of constrained metrics (Bonferroni). So a threshold equal to the
baseline's own value still pages unchanged data at most alpha of the time.
"""

from __future__ import annotations

import math

import numpy as np

from mlops.core.datasets import ProblemType
from mlops.core.monitoring import MonitoringType, Violation
from mlops.core.monitoring_files import (
    MetricConstraint,
    MetricValue,
    ModelQualityConstraints,
    ModelQualityDataset,
    ModelQualityStatistics,
)
from mlops.core.thresholds import ComparisonOperator

KIND = MonitoringType.ModelQuality
TOLERANCE = 0.1  # how far below the baseline a bounded metric may fall
ERROR_GROWTH = 1.25  # how much a regression error may grow
BOOTSTRAP_ROWS = 20_000
BOUNDED = ("accuracy", "precision", "recall", "f1", "auc", "weighted_precision", "weighted_recall", "weighted_f1")


def _safe(a: float, b: float) -> float:
    return a / b if b else math.nan


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    from scipy.stats import rankdata

    ranks = rankdata(score)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """``labels``: 1.0 for the positive class, 0.0 for the other."""
    y = labels >= 0.5
    hat = scores >= threshold
    tp, fp = int(np.sum(y & hat)), int(np.sum(~y & hat))
    fn, tn = int(np.sum(y & ~hat)), int(np.sum(~y & ~hat))
    precision, recall = _safe(tp, tp + fp), _safe(tp, tp + fn)
    f1 = _safe(2 * precision * recall, precision + recall) if not math.isnan(precision + recall) else math.nan
    return {
        "accuracy": _safe(tp + tn, tp + tn + fp + fn),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": _auc(y, scores),
        "true_positive_rate": recall,
        "false_positive_rate": _safe(fp, fp + tn),
        "label_positive_rate": _safe(tp + fn, tp + tn + fp + fn),
    }


def multiclass_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_score, recall_score

    hat = scores.argmax(axis=1) if scores.ndim == 2 else np.round(scores)
    y = labels.astype(int)
    hat = hat.astype(int)
    return {
        "accuracy": float(np.mean(y == hat)),
        "weighted_precision": float(precision_score(y, hat, average="weighted", zero_division=0)),
        "weighted_recall": float(recall_score(y, hat, average="weighted", zero_division=0)),
        "weighted_f1": float(f1_score(y, hat, average="weighted", zero_division=0)),
    }


def regression_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    errors = scores - labels
    mse = float(np.mean(errors**2))
    variance = float(np.var(labels))
    return {
        "mae": float(np.mean(np.abs(errors))),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": 1 - mse / variance if variance > 0 else math.nan,
    }


def compute(problem: ProblemType, labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    if problem is ProblemType.BinaryClassification:
        return binary_metrics(labels, scores if scores.ndim == 1 else scores[:, -1], threshold)
    if problem is ProblemType.MulticlassClassification:
        return multiclass_metrics(labels, scores)
    return regression_metrics(labels, scores if scores.ndim == 1 else scores[:, 0])


def statistics(
    problem: ProblemType, labels: np.ndarray, scores: np.ndarray, threshold: float, seed: int = 0, draws: int = 100
) -> ModelQualityStatistics:
    """Model Monitor's statistics file: each metric's value and (bootstrapped) standard deviation."""
    values = compute(problem, labels, scores, threshold)
    rng = np.random.default_rng(seed)
    n = len(labels)
    samples: dict[str, list[float]] = {k: [] for k in values}
    for _ in range(draws):
        rows = rng.integers(0, n, min(n, BOOTSTRAP_ROWS))
        for k, v in compute(problem, labels[rows], scores[rows], threshold).items():
            samples[k].append(v)
    metrics = {
        k: MetricValue(value=v, standard_deviation=float(np.nanstd(samples[k])) if draws else None)
        for k, v in values.items()
        if not math.isnan(v)
    }
    dataset = ModelQualityDataset(item_count=n)
    if problem is ProblemType.BinaryClassification:
        return ModelQualityStatistics(dataset=dataset, binary_classification_metrics=metrics)
    if problem is ProblemType.MulticlassClassification:
        return ModelQualityStatistics(dataset=dataset, multiclass_classification_metrics=metrics)
    return ModelQualityStatistics(dataset=dataset, regression_metrics=metrics)


def suggest(stats: ModelQualityStatistics, tolerance: float = TOLERANCE) -> ModelQualityConstraints:
    less, more = ComparisonOperator.LessThanThreshold, ComparisonOperator.GreaterThanThreshold
    out: dict[str, MetricConstraint] = {}
    for name, mv in stats.metrics.items():
        if name == "r2":
            out[name] = MetricConstraint(threshold=round(mv.value - tolerance, 6), comparison_operator=less)
        elif name in BOUNDED:
            out[name] = MetricConstraint(threshold=round(max(mv.value - tolerance, 0.0), 6), comparison_operator=less)
        elif name in ("mae", "rmse"):
            out[name] = MetricConstraint(threshold=round(mv.value * ERROR_GROWTH, 6), comparison_operator=more)
        elif name == "label_positive_rate":
            deviation = ComparisonOperator.DeviationGreaterThanThreshold
            out[name] = MetricConstraint(threshold=tolerance, comparison_operator=deviation)
    if stats.binary_classification_metrics is not None:
        return ModelQualityConstraints(binary_classification_constraints=out)
    if stats.multiclass_classification_metrics is not None:
        return ModelQualityConstraints(multiclass_classification_constraints=out)
    return ModelQualityConstraints(regression_constraints=out)


def standard_error(value: MetricValue, baseline_rows: int, rows: int) -> float:
    """The metric's standard error on ``rows`` rows, from the baseline's bootstrap standard deviation."""
    if not value.standard_deviation or rows <= 0 or baseline_rows <= 0:
        return 0.0
    return value.standard_deviation * math.sqrt(min(baseline_rows, BOOTSTRAP_ROWS) / rows)


def noise_band(value: MetricValue, baseline_rows: int, rows: int, z: float) -> float:
    """How far a window of ``rows`` rows may fall from the baseline's metric by chance (z standard errors
    of the difference of the window's and the baseline's estimates)."""
    return z * math.hypot(
        standard_error(value, baseline_rows, rows), standard_error(value, baseline_rows, baseline_rows)
    )


def check(
    observed: dict[str, float],
    baseline: ModelQualityStatistics,
    constraints: ModelQualityConstraints,
    rows: int | None = None,
    false_alarm_rate: float = 0.01,
) -> list[Violation]:
    """Violations of the window's metrics (``rows`` labelled rows; None: judged without a noise band)."""
    from scipy.stats import norm

    violations = []
    base = baseline.metrics
    k = max(len(constraints.constraints), 1)
    for name, c in constraints.constraints.items():
        value = observed.get(name)
        if value is None or math.isnan(value):
            continue
        reference = base[name].value if name in base else None
        deviation = c.comparison_operator is ComparisonOperator.DeviationGreaterThanThreshold
        z = float(norm.isf(false_alarm_rate / (2 * k if deviation else k)))
        band = noise_band(base[name], baseline.dataset.item_count, rows, z) if name in base and rows else 0.0
        op = c.comparison_operator
        if op is ComparisonOperator.LessThanThreshold:
            violated = value < c.threshold - band
        elif op is ComparisonOperator.LessThanOrEqualToThreshold:
            violated = value <= c.threshold - band
        elif op is ComparisonOperator.GreaterThanThreshold:
            violated = value > c.threshold + band
        elif op is ComparisonOperator.GreaterThanOrEqualToThreshold:
            violated = value >= c.threshold + band
        else:
            violated = reference is not None and abs(value - reference) > c.threshold + band
        if not violated:
            continue
        noise = f" (noise band {band:.3g} at {rows} rows)" if rows else ""
        if deviation:
            text = (
                f"Metric {name} with {value:.4g} deviates from the baseline's {reference or 0.0:.4g} "
                f"by more than {c.threshold:g}{noise}"
            )
        else:
            text = (
                f"Metric {name} with {value:.4g} was {op.value} {c.threshold:.4g}{noise}; baseline {reference:.4g}"
                if reference is not None
                else f"Metric {name} with {value:.4g} was {op.value} {c.threshold:.4g}{noise}"
            )
        violations.append(
            Violation(
                monitoring_type=KIND,
                constraint_check_type=op.value,
                metric_name=name,
                baseline_value=reference,
                observed_value=value,
                threshold=c.threshold,
                noise_band=band if rows else None,
                window_rows=rows,
                description=text,
            )
        )
    return violations
