"""Baseline statistics and constraints in Model Monitor's shapes, and each data-quality violation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops.core.errors import ConflictError, ValidationError
from mlops.core.monitoring_files import DatasetConstraints, InferredType
from mlops.monitoring.baseline import Baseline, BaselineStore
from mlops.monitoring.constraints import baseline_cdf, dataset_statistics, ks_distance, suggest_constraints
from mlops.monitoring.data_quality import check
from mlops.monitoring.features import OTHER, monitor_frame


def checks(violations: list) -> set[tuple[str, str | None]]:
    return {(v.constraint_check_type, v.feature_name) for v in violations}


def test_statistics_and_constraints_have_model_monitors_shape(baseline: Baseline) -> None:
    stats = json.loads(baseline.statistics.model_dump_json(exclude_none=True))
    assert stats["dataset"]["item_count"] == 5000
    tenure = next(f for f in stats["features"] if f["name"] == "tenure_months")
    assert tenure["inferred_type"] == "Integral"
    num = tenure["numerical_statistics"]
    assert set(num) >= {"common", "mean", "sum", "std_dev", "min", "max", "distribution"}
    assert num["common"]["num_missing"] == 0 and len(num["distribution"]["kll"]["buckets"]) == 10
    assert len(num["distribution"]["quantiles"]) == 101
    gender = next(f for f in stats["features"] if f["name"] == "gender")
    assert gender["inferred_type"] == "String"
    buckets = gender["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"] for b in buckets} == {"female", "male"}
    constraints = json.loads(baseline.constraints.model_dump_json(exclude_none=True))
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1
    contract = next(f for f in constraints["features"] if f["name"] == "contract")
    assert contract["string_constraints"]["domains"] == ["month-to-month", "one-year", "two-year"]
    monthly = next(f for f in constraints["features"] if f["name"] == "monthly_charges")
    assert monthly["inferred_type"] == "Fractional" and monthly["num_constraints"]["is_non_negative"] is True
    assert monthly["completeness"] == 1.0


def test_a_window_like_the_baseline_passes(baseline: Baseline, held_out: pd.DataFrame, encoding) -> None:  # type: ignore[no-untyped-def]
    violations, window_stats = check(monitor_frame(held_out, encoding), baseline.statistics, baseline.constraints)
    assert violations == []
    assert window_stats.dataset.item_count == len(held_out)


def test_each_violation_type_is_named_as_model_monitor_names_it(
    baseline: Baseline, held_out: pd.DataFrame, encoding
) -> None:  # type: ignore[no-untyped-def]
    frame = monitor_frame(held_out, encoding)
    frame["tenure_months"] = frame["tenure_months"] + 0.5  # not integral any more (and shifted)
    frame.loc[: len(frame) // 5, "age"] = np.nan  # 20% missing
    frame["monthly_charges"] = frame["monthly_charges"] * 3  # distribution and range move
    frame["contract"] = pd.Categorical(
        np.where(np.arange(len(frame)) % 4 == 0, OTHER, frame["contract"].astype(str)),
        categories=[*frame["contract"].cat.categories],
    )
    frame = frame.drop(columns=["support_calls"]).assign(surprise=1.0)
    violations, _ = check(frame, baseline.statistics, baseline.constraints)
    found = checks(violations)
    assert ("data_type_check", "tenure_months") in found
    assert ("completeness_check", "age") in found
    assert ("baseline_drift_check", "monthly_charges") in found
    assert ("range_check", "monthly_charges") in found
    assert ("categorical_values_check", "contract") in found
    assert ("missing_column_check", "support_calls") in found
    assert ("extra_column_check", "surprise") in found
    v = next(v for v in violations if v.constraint_check_type == "completeness_check")
    assert v.baseline_value == 1.0 and 0.79 < v.observed_value < 0.81 and v.threshold == 1.0  # type: ignore[operator]
    assert "Expected completeness: 100.00%" in v.description


def test_categorical_drift_uses_the_largest_change_of_a_share(
    baseline: Baseline, held_out: pd.DataFrame, encoding
) -> None:  # type: ignore[no-untyped-def]
    rows = pd.concat([held_out[held_out.contract == "two-year"]] * 3 + [held_out], ignore_index=True)
    violations, _ = check(monitor_frame(rows, encoding), baseline.statistics, baseline.constraints)
    drift = [v for v in violations if v.constraint_check_type == "baseline_drift_check"]
    assert [v.feature_name for v in drift if v.feature_name == "contract"] == ["contract"]
    assert "two-year" in next(v.description for v in drift if v.feature_name == "contract")


def test_ks_distance_from_percentiles_is_exact_to_a_percentile() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=20000)
    stats = dataset_statistics(pd.DataFrame({"x": base}))
    quantiles = stats.features[0].numerical_statistics.distribution.quantiles  # type: ignore[union-attr]
    same = ks_distance(quantiles, rng.normal(size=5000))
    shifted = ks_distance(quantiles, rng.normal(0.5, size=5000))
    assert same < 0.04 and 0.17 < shifted < 0.23  # true KS distance of a 0.5 sd shift: 0.197
    discrete = dataset_statistics(pd.DataFrame({"k": rng.integers(0, 3, 9000).astype(float)}))
    q = discrete.features[0].numerical_statistics.distribution.quantiles  # type: ignore[union-attr]
    assert np.allclose(baseline_cdf(q, np.array([-1.0, 0.0, 1.0, 2.0])), [0, 1 / 3, 2 / 3, 1], atol=0.015)


def test_suggested_completeness_sits_below_a_partial_baseline() -> None:
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0] * 25, "s": pd.Categorical(["a", "b"] * 50)})
    constraints = suggest_constraints(dataset_statistics(frame))
    assert constraints.feature("x").completeness == 0.73  # type: ignore[union-attr]
    assert constraints.feature("s").inferred_type is InferredType.String  # type: ignore[union-attr]


def test_baselines_are_folders_of_editable_files(tmp_path: Path, baseline: Baseline) -> None:
    store = BaselineStore(tmp_path)
    saved = store.save(baseline)
    folder = tmp_path / "churn"
    assert sorted(p.name for p in folder.iterdir()) == [
        "attribution.json",
        "baseline.json",
        "constraints.json",
        "model-quality",
        "reference.parquet",
        "statistics.json",
    ]
    with pytest.raises(ConflictError, match="--force"):
        store.save(baseline)
    # a hand edit: loosen monthly_charges' range check, tighten the drift threshold
    document = json.loads((folder / "constraints.json").read_text())
    document["monitoring_config"]["distribution_constraints"]["comparison_threshold"] = 0.05
    (folder / "constraints.json").write_text(json.dumps(document))
    assert store.load("churn").constraints.monitoring_config.distribution_constraints.comparison_threshold == 0.05
    assert saved.reference.shape[0] == 5000 and list(store.names()) == ["churn"]
    document["monitoring_config"]["datatype_check_treshold"] = 0.5  # a typo must not pass silently
    (folder / "constraints.json").write_text(json.dumps(document))
    with pytest.raises(ValidationError, match="datatype_check_treshold"):
        store.load("churn")
    assert isinstance(DatasetConstraints.model_validate(baseline.constraints.model_dump()), DatasetConstraints)
