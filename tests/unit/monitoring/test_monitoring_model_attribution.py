"""Model quality (Model Monitor's metrics and constraints) and feature attribution (SHAP, nDCG)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from mlops.core.datasets import ProblemType
from mlops.core.thresholds import ComparisonOperator
from mlops.monitoring import attribution, model_quality
from mlops.monitoring.baseline import Baseline
from mlops.monitoring.features import columns_of, matrix_from_frame, monitor_frame
from mlops.monitoring.models import FunctionModel, XGBoostModel


def test_binary_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500).astype(float)
    scores = np.clip(y * 0.3 + rng.random(500) * 0.7, 0, 1)
    got = model_quality.binary_metrics(y, scores, 0.5)
    hat = scores >= 0.5
    assert math.isclose(got["accuracy"], accuracy_score(y, hat))
    assert math.isclose(got["precision"], precision_score(y, hat))
    assert math.isclose(got["recall"], recall_score(y, hat))
    assert math.isclose(got["f1"], f1_score(y, hat))
    assert math.isclose(got["auc"], roc_auc_score(y, scores))
    assert math.isclose(got["label_positive_rate"], y.mean())


def test_regression_metrics_and_suggested_constraints() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    got = model_quality.regression_metrics(y, y + np.array([0.5, -0.5, 0.5, -0.5]))
    assert got["mae"] == 0.5 and got["rmse"] == 0.5 and math.isclose(got["r2"], 1 - 0.25 / 1.25)
    stats = model_quality.statistics(ProblemType.Regression, y, y + 0.5, 0.5, draws=0)
    constraints = model_quality.suggest(stats)
    assert constraints.regression_constraints is not None
    assert constraints.constraints["rmse"].comparison_operator is ComparisonOperator.GreaterThanThreshold
    assert math.isclose(constraints.constraints["rmse"].threshold, 0.5 * 1.25)


def test_model_quality_violations_follow_model_monitors_operators(baseline: Baseline) -> None:
    stats, constraints = baseline.model_quality_statistics, baseline.model_quality_constraints
    assert stats is not None and constraints is not None
    accuracy = stats.metrics["accuracy"]
    assert accuracy.standard_deviation is not None and 0 < accuracy.standard_deviation < 0.05
    assert constraints.constraints["accuracy"].comparison_operator is ComparisonOperator.LessThanThreshold
    assert math.isclose(constraints.constraints["accuracy"].threshold, round(accuracy.value - 0.1, 6))
    observed = {**{k: v.value for k, v in stats.metrics.items()}}
    assert model_quality.check(observed, stats, constraints) == []
    observed["accuracy"] = accuracy.value - 0.2
    observed["label_positive_rate"] = stats.metrics["label_positive_rate"].value + 0.3
    violations = model_quality.check(observed, stats, constraints)
    kinds = {(v.metric_name, v.constraint_check_type) for v in violations}
    assert kinds == {("accuracy", "LessThanThreshold"), ("label_positive_rate", "DeviationGreaterThanThreshold")}
    text = next(v.description for v in violations if v.metric_name == "accuracy")
    assert text.startswith("Metric accuracy with") and "was LessThanThreshold" in text


def test_ndcg_follows_clarifys_definition() -> None:
    """Baseline a = {x: 3, y: 2, z: 1}. Same ranking: nDCG = 1. Window ranking (z, y, x):
    DCG = 1/log2(2) + 2/log2(3) + 3/log2(4) = 1 + 1.26186 + 1.5 = 3.76186;
    iDCG = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.26186 + 0.5 = 4.76186; nDCG = 0.79000."""
    base = {"x": 3.0, "y": 2.0, "z": 1.0}
    assert attribution.ndcg(base, {"x": 0.9, "y": 0.5, "z": 0.1}) == 1.0
    reversed_ = attribution.ndcg(base, {"x": 0.1, "y": 0.5, "z": 0.9})
    assert math.isclose(reversed_, (1 + 2 / math.log2(3) + 1.5) / (3 + 2 / math.log2(3) + 0.5))
    assert abs(reversed_ - 0.79) < 1e-4
    violations, metrics = attribution.check(
        attribution.analysis(base, "tree_shap", None), {"x": 0.1, "y": 0.5, "z": 0.9}, 0.9
    )
    assert len(violations) == 1 and violations[0].constraint_check_type == "feature_attribution_drift_check"
    assert metrics["ndcg"] == reversed_ and "below 0.9" in violations[0].description


def test_permutation_shap_is_exact_for_an_additive_model() -> None:
    """For f(x) = sum_j w_j x_j, the Shapley value of j at x against background row b is w_j (x_j - b_j);
    the estimator walks from b to x, so every permutation gives exactly that."""
    w = np.array([2.0, -1.0, 0.5])
    model = FunctionModel(lambda X: X @ w)
    X = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    background = np.zeros((1, 3))
    phi = attribution.permutation_shap(model, X, background, np.arange(3), np.random.default_rng(0))
    assert np.allclose(phi, X * w)


def test_tree_shap_and_the_model_agnostic_estimator_rank_features_alike(
    baseline: Baseline, held_out: pd.DataFrame, encoding, model: XGBoostModel
) -> None:  # type: ignore[no-untyped-def]
    frame = monitor_frame(held_out.iloc[:300], encoding)
    rng = np.random.default_rng(0)
    tree, _, explained = attribution.attributions(model, frame, encoding, rng)
    assert explained == 300 and set(tree) == {c.name for c in columns_of(encoding)}
    contributions = model.contributions(matrix_from_frame(frame, encoding))
    matrix = xgb.DMatrix(matrix_from_frame(frame, encoding))
    margin = model.booster.predict(matrix, output_margin=True)
    bias = model.booster.predict(matrix, pred_contribs=True)[:, -1]
    assert np.allclose(contributions.sum(axis=1) + bias, margin, atol=1e-4)  # SHAP's local accuracy
    logit = FunctionModel(lambda X: np.log(model.predict(X) / (1 - model.predict(X))))
    agnostic, expected, sampled = attribution.attributions(logit, frame, encoding, rng, background=baseline.features)
    assert sampled == 200 and expected is not None
    assert attribution.ndcg(tree, agnostic) > 0.9
    top = sorted(tree, key=lambda k: -tree[k])[:2]
    assert set(top) <= set(sorted(agnostic, key=lambda k: -agnostic[k])[:4])
