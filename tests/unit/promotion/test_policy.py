from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.errors import NotFoundError, ValidationError
from mlops.promotion.policy import evaluate_policy, load_policy

POLICY = Path(__file__).resolve().parents[3] / "policies" / "promotion.yaml"


def test_the_shipped_policy_loads() -> None:
    policy = load_policy(POLICY)
    assert {"staging", "prod"} <= set(policy.environments)


def test_a_good_candidate_passes_with_every_rule_explained() -> None:
    decision = evaluate_policy(
        load_policy(POLICY),
        "prod",
        {"auc": 0.83, "accuracy": 0.79, "logloss": 0.45},
        {"auc": 0.832},
        {"data_quality", "evaluation"},
    )
    assert decision.passed and decision.reasons == []
    assert len(decision.results) == 6
    assert "regression 0.0020 (allowed 0.005)" in decision.as_markdown()


def test_failures_name_each_rule() -> None:
    decision = evaluate_policy(
        load_policy(POLICY), "prod", {"auc": 0.80, "logloss": 0.7}, {"auc": 0.83}, {"data_quality"}
    )
    assert not decision.passed
    assert decision.reasons == [
        "accuracy missing must be >= 0.7",
        "logloss 0.7000 must be <= 0.6",
        "auc 0.8000 vs current 0.8300: regression 0.0300 (allowed 0.005)",
        "check evaluation did not pass",
    ]


def test_no_current_model_means_no_regression() -> None:
    decision = evaluate_policy(load_policy(POLICY), "staging", {"auc": 0.75}, None, {"data_quality"})
    assert decision.passed


def test_lower_is_better_metrics_regress_upwards(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("environments:\n  prod:\n    maximum_regression:\n      rmse: 1.0\n")
    policy = load_policy(path)
    assert evaluate_policy(policy, "prod", {"rmse": 10.5}, {"rmse": 10.0}, set()).passed
    assert not evaluate_policy(policy, "prod", {"rmse": 11.5}, {"rmse": 10.0}, set()).passed


def test_bad_policy_files_are_named(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("environments:\n  prod:\n    minimun:\n      auc: 0.7\n")
    with pytest.raises(ValidationError, match="environments.prod.minimun"):
        load_policy(path)
    with pytest.raises(NotFoundError, match="The policy defines: staging"):
        evaluate_policy(
            load_policy(POLICY).model_copy(
                update={"environments": {"staging": load_policy(POLICY).environments["staging"]}}
            ),
            "prod",
            {},
            None,
            set(),
        )
