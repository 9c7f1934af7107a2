"""The feature-attribution drift monitor: global SHAP attributions of the baseline and of a window,
compared as Clarify does, by the nDCG of the window's feature ranking scored with the baseline's
attributions; below 0.9 is a violation (``feature_attribution_drift_check``).

Attributions are per raw input column (the one-hot columns of a categorical summed per row, then the
mean absolute value over rows). Tree models (xgboost) get exact TreeSHAP from ``pred_contribs=True``;
any other model a permutation estimator of Shapley values written here (antithetic permutations over
the columns, each walked from a background row to the explained row), which needs only ``predict``.
Both explain a sample of the rows (``MAX_ROWS``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlops.core.datasets import FeatureEncoding
from mlops.core.monitoring import MonitoringType, Violation
from mlops.core.monitoring_files import AttributionAnalysis, GlobalShapValues
from mlops.monitoring.features import columns_of, matrix_from_frame
from mlops.monitoring.models import MonitoredModel, TreeModel, positive_scores

KIND = MonitoringType.ModelExplainability
MAX_ROWS = {"tree_shap": 2000, "permutation_shap": 200}
BACKGROUND_ROWS = 50
MIN_ROWS = 100  # fewer window rows and the monitor says the window is too small to judge
PERMUTATIONS = 8  # per explained row, in antithetic pairs


def method_of(model: MonitoredModel) -> str:
    return "tree_shap" if isinstance(model, TreeModel) else "permutation_shap"


def _groups(encoding: FeatureEncoding) -> tuple[list[str], np.ndarray]:
    """Column names and, for each encoded feature, the index of its column."""
    names, owner = [], np.zeros(len(encoding.Features), dtype=np.int64)
    for g, column in enumerate(columns_of(encoding)):
        names.append(column.name)
        owner[list(column.indices)] = g
    return names, owner


def permutation_shap(
    predict: MonitoredModel,
    X: np.ndarray,
    background: np.ndarray,
    owner: np.ndarray,
    rng: np.random.Generator,
    permutations: int = PERMUTATIONS,
) -> np.ndarray:
    """Shapley values (rows, groups) of ``predict`` at each row of ``X``: for each permutation of the
    groups, start from a random background row and switch the groups to the row's values one by one;
    a group's share is the change of the prediction when it switches, averaged over permutations
    (each permutation is followed by its reverse, which halves the variance)."""
    n, _ = X.shape
    groups = int(owner.max()) + 1
    half = max(1, permutations // 2)
    forward = np.argsort(rng.random((n * half, groups)), axis=1)
    orders = np.empty((n * half * 2, groups), dtype=np.int64)
    orders[0::2], orders[1::2] = forward, forward[:, ::-1]
    rows = np.repeat(np.arange(n), half * 2)
    base = background[rng.integers(0, len(background), n * half)].repeat(2, axis=0)
    position = np.argsort(orders, axis=1)  # position[r, g]: the step at which group g switches
    steps = np.arange(groups + 1)
    switched = position[:, owner][:, None, :] < steps[None, :, None]  # (R, groups + 1, features)
    hybrids = np.where(switched, X[rows][:, None, :], base[:, None, :])
    predictions = positive_scores(np.asarray(predict.predict(hybrids.reshape(-1, X.shape[1]).astype(np.float32))))
    predictions = predictions.reshape(len(orders), groups + 1)
    gains = np.diff(predictions, axis=1)  # gains[r, k]: the change when group orders[r, k] switches
    phi = np.zeros((len(orders), groups))
    np.put_along_axis(phi, orders, gains, axis=1)
    return np.asarray(phi.reshape(n, half * 2, groups).mean(axis=1))


def attributions(
    model: MonitoredModel,
    frame: pd.DataFrame,
    encoding: FeatureEncoding,
    rng: np.random.Generator,
    background: pd.DataFrame | None = None,
    max_rows: int | None = None,
) -> tuple[dict[str, float], float | None, int]:
    """Global attributions (column → mean |SHAP|), the expected value, and the number of rows explained."""
    method = method_of(model)
    limit = max_rows or MAX_ROWS[method]
    sample = frame if len(frame) <= limit else frame.iloc[np.sort(rng.choice(len(frame), limit, replace=False))]
    X = matrix_from_frame(sample, encoding)
    names, owner = _groups(encoding)
    if isinstance(model, TreeModel):
        contributions = np.asarray(model.contributions(X))
        membership = np.zeros((len(owner), len(names)))
        membership[np.arange(len(owner)), owner] = 1.0
        per_column = contributions @ membership
        expected = None
    else:
        bg_frame = background if background is not None else frame
        if len(bg_frame) > BACKGROUND_ROWS:
            bg_frame = bg_frame.iloc[np.sort(rng.choice(len(bg_frame), BACKGROUND_ROWS, replace=False))]
        bg = matrix_from_frame(bg_frame, encoding)
        per_column = permutation_shap(model, X, bg, owner, rng)
        expected = float(np.mean(positive_scores(np.asarray(model.predict(bg)))))
    values = np.abs(per_column).mean(axis=0)
    return {name: float(v) for name, v in zip(names, values, strict=True)}, expected, len(sample)


def analysis(values: dict[str, float], method: str, expected: float | None) -> AttributionAnalysis:
    return AttributionAnalysis(
        explanations={method: {"label0": GlobalShapValues(global_shap_values=values, expected_value=expected)}}
    )


def ndcg(baseline: dict[str, float], current: dict[str, float], top_k: int | None = None) -> float:
    """Clarify's nDCG: DCG = sum_i a(s'_i) / log2(i + 1) over the window's ranking s', iDCG the same over the
    baseline's ranking s, a(f) the baseline attribution of feature f; nDCG = DCG / iDCG."""
    features = [f for f in baseline if f in current]
    if not features:
        return math.nan
    ideal = sorted(features, key=lambda f: -baseline[f])
    observed = sorted(features, key=lambda f: (-current[f], ideal.index(f)))
    k = top_k or len(features)
    discounts = 1 / np.log2(np.arange(2, k + 2))
    idcg = float(sum(baseline[f] * d for f, d in zip(ideal[:k], discounts, strict=False)))
    dcg = float(sum(baseline[f] * d for f, d in zip(observed[:k], discounts, strict=False)))
    return dcg / idcg if idcg > 0 else 1.0


def check(
    baseline: AttributionAnalysis, current: dict[str, float], threshold: float
) -> tuple[list[Violation], dict[str, float]]:
    base = baseline.global_values()
    score = ndcg(base, current)
    metrics = {"ndcg": score, **{f"attribution.{k}": v for k, v in current.items()}}
    if math.isnan(score) or score >= threshold:
        return [], metrics
    top_base = sorted(base, key=lambda f: -base[f])[:3]
    top_now = sorted(current, key=lambda f: -current[f])[:3]
    return [
        Violation(
            monitoring_type=KIND,
            constraint_check_type="feature_attribution_drift_check",
            metric_name="ndcg",
            baseline_value=1.0,
            observed_value=score,
            threshold=threshold,
            description=f"Feature attribution drift: nDCG {score:.3f} is below {threshold:g} (top features were "
            f"{', '.join(top_base)}; now {', '.join(top_now)})",
        )
    ], metrics
