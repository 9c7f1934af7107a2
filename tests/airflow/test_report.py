"""The approval's Markdown body, as a person reads it under Required Actions."""

from __future__ import annotations

from mlops.airflow.report import approval_body, approval_subject

REQUEST = {"algorithm": "xgboost", "deployment": {"endpoint_name": "churn-staging", "strategy": "canary", "alarms": []}}
TRAINED = {"tuning_job": "churn-xgboost-1234", "hyperparameters": {"eta": "0.2", "max_depth": "5"}}
EVALUATION = {
    "group": "churn",
    "version": 3,
    "training_job": "churn-xgboost-1234-002",
    "rows": 450,
    "metrics": {"auc": 0.85, "logloss": 0.40},
    "confusion_matrix": [[281, 35], [57, 77]],
    "reports": {"evaluation plot": "file:///home/roc.png"},
}
GATE = {
    "environment": "staging",
    "policy_file": "policies/promotion.yaml",
    "table": "| rule | result |\n|---|---|\n| minimum auc | pass |",
    "current": {"version": 2, "approved_by": "ana", "metrics": {"auc": 0.80, "logloss": 0.45}},
}


def test_the_body_compares_with_production_in_tables_a_ui_renders() -> None:
    body = approval_body(REQUEST, TRAINED, EVALUATION, GATE)
    assert approval_subject(EVALUATION, GATE) == "Deploy churn version 3 to staging?"
    assert "Model now in **staging**: version 2 (approved by ana)." in body
    assert "| auc | 0.8500 | 0.8000 | +0.0500 (better) |" in body
    assert "| logloss | 0.4000 | 0.4500 | -0.0500 (better) |" in body  # lower is better for a loss
    assert "| 1 | 57 | 77 |" in body  # the confusion matrix, actual class 1
    assert "| max_depth | 5 |" in body
    assert "### Promotion policy (staging, promotion.yaml): passed" in body
    assert "- evaluation plot: file:///home/roc.png" in body
    assert "`" not in body, "Airflow renders inline code as a block: the body uses tables and bold instead"
