"""Clean windows do not page: 200 windows of unchanged data, drawn from the baseline's own distribution,
against a baseline of 3,000 rows of a table the monitors were never tuned on (six numbers on different
scales, two small counts, two categories, one with a rare value). Each monitor holds its stated
false-alarm rate (1% per window: at most 4 of 200 here, with fixed seeds); a window too small to judge
says so; numbers are compared in float32; violations report values in one unit with their noise band."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from mlops.core.datasets import FeatureEncoding
from mlops.core.monitoring import MonitoringExecutionStatus, MonitoringType, MonitorSpec
from mlops.data.formats import build_encoding
from mlops.monitoring.baseline import Baseline, suggest_baseline
from mlops.monitoring.constraints import dataset_statistics, suggest_constraints
from mlops.monitoring.data_quality import check
from mlops.monitoring.features import label_index, monitor_frame
from mlops.monitoring.runner import run_monitors
from mlops.monitoring.window import WindowData

START = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
WINDOWS, ROWS, MAX_ALARMS = 200, 200, 4
MONITORS = (MonitoringType.DataQuality, MonitoringType.DataDrift, MonitoringType.ModelQuality)


def draw(n: int, rng: np.random.Generator) -> pd.DataFrame:
    frame = pd.DataFrame({f"x{j}": rng.normal(10.0**j, 3.0**j, n) for j in range(6)})
    frame["calls"] = rng.poisson(1.5, n)
    frame["products"] = rng.poisson(4.0, n)
    frame["plan"] = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    frame["region"] = rng.choice(["n", "e", "s", "w", "x"], n, p=[0.3, 0.3, 0.2, 0.18, 0.02])
    margin = (frame["x0"] - 1.0) + 0.3 * (frame["calls"] - 1.5) + 0.5 * (frame["plan"] == "pro")
    frame["score"] = 1 / (1 + np.exp(-margin))
    frame["label"] = (rng.random(n) < frame["score"]).astype(int)
    return frame


@pytest.fixture(scope="module")
def table() -> tuple[Baseline, FeatureEncoding]:
    rows = draw(3000, np.random.default_rng(0))
    encoding = build_encoding(rows.drop(columns=["score"]), "label")
    scores = rows["score"].to_numpy()
    # tolerance 0: the model-quality thresholds are the baseline's own values, as in the issue (auc 0.7974 <
    # 0.7988): only the noise band keeps a clean window from paging
    baseline = suggest_baseline("synthetic", rows.drop(columns=["score"]), encoding, "draw(3000)", scores=scores,
                                tolerance=0.0)  # fmt: skip
    return baseline, encoding


def window_of(rows: pd.DataFrame, encoding: FeatureEncoding) -> WindowData:
    return WindowData(
        start=START,
        end=START + timedelta(hours=1),
        features=monitor_frame(rows, encoding),
        scores=rows["score"].to_numpy(),
        inference_ids=np.array([f"id-{i}" for i in range(len(rows))], dtype=object),
        labels=label_index(rows["label"], encoding),
    )


def test_clean_windows_stay_under_each_monitors_false_alarm_rate(table: tuple[Baseline, FeatureEncoding]) -> None:
    baseline, encoding = table
    constraints = baseline.model_quality_constraints
    assert constraints is not None and constraints.constraints["accuracy"].threshold == pytest.approx(
        baseline.model_quality_statistics.metrics["accuracy"].value,
        abs=1e-6,  # type: ignore[union-attr]
    )
    specs = [MonitorSpec(MonitoringType=m) for m in MONITORS]
    alarms = {m: 0 for m in MONITORS}
    examples: dict[MonitoringType, str] = {}
    rng = np.random.default_rng(1)
    for i in range(WINDOWS):
        run = run_monitors(window_of(draw(ROWS, rng), encoding), baseline, specs, "e", f"w{i}", html=False)
        for result in run.Monitors:
            assert result.MonitoringExecutionStatus is not MonitoringExecutionStatus.Failed, result.FailureReason
            assert result.MonitoringExecutionStatus is not MonitoringExecutionStatus.Skipped, result.FailureReason
            if result.Violations:
                alarms[result.MonitoringType] += 1
                examples.setdefault(result.MonitoringType, result.Violations[0].description)
    assert all(n <= MAX_ALARMS for n in alarms.values()), (alarms, examples)


def test_a_real_change_still_pages_with_its_noise_band(table: tuple[Baseline, FeatureEncoding]) -> None:
    baseline, encoding = table
    rows = draw(ROWS, np.random.default_rng(2))
    rows["x3"] = rows["x3"] + 0.5 * 27.0  # half a standard deviation
    flipped = rows.index < ROWS * 0.3
    rows.loc[flipped, "label"] = 1 - rows.loc[flipped, "label"]
    specs = [MonitorSpec(MonitoringType=m) for m in MONITORS]
    run = run_monitors(window_of(rows, encoding), baseline, specs, "e", "shifted", html=False)
    drift = run.result(MonitoringType.DataDrift)
    assert drift is not None and [v.feature_name for v in drift.Violations] == ["x3"]
    quality = run.result(MonitoringType.ModelQuality)
    assert quality is not None
    accuracy = next(v for v in quality.Violations if v.metric_name == "accuracy")
    assert accuracy.noise_band is not None and 0.01 < accuracy.noise_band < 0.2 and accuracy.window_rows == ROWS
    assert accuracy.observed_value < accuracy.threshold - accuracy.noise_band  # type: ignore[operator]
    assert f"noise band {accuracy.noise_band:.3g} at {ROWS} rows" in accuracy.description


def test_a_window_too_small_to_judge_says_so(table: tuple[Baseline, FeatureEncoding]) -> None:
    baseline, encoding = table
    rows = draw(30, np.random.default_rng(3))
    specs = [MonitorSpec(MonitoringType=m) for m in MONITORS]
    run = run_monitors(window_of(rows, encoding), baseline, specs, "e", "small", html=False)
    drift = run.result(MonitoringType.DataDrift)
    assert drift is not None and drift.MonitoringExecutionStatus is MonitoringExecutionStatus.Skipped
    assert drift.FailureReason == "window of 30 rows is too small to judge (needs >= 50)" and not drift.Violations
    quality = run.result(MonitoringType.ModelQuality)
    assert quality is not None and quality.MonitoringExecutionStatus is MonitoringExecutionStatus.Skipped
    custom = [MonitorSpec(MonitoringType=MonitoringType.DataQuality, MinRows=40)]
    result = run_monitors(window_of(rows, encoding), baseline, custom, "e", "small2", html=False).Monitors[0]
    assert result.FailureReason == "window of 30 rows is too small to judge (needs >= 40)"


def test_the_range_check_compares_in_float32() -> None:
    """0.660000026 is how 0.66 reads back from a float32 CSV: inside a baseline maximum of 0.66."""
    base = pd.DataFrame({"ratio": np.linspace(0.0, 0.66, 2000)})
    stats = dataset_statistics(base)
    window = pd.DataFrame({"ratio": np.r_[np.full(150, 0.660000026), np.linspace(0.0, 0.6, 150)]})
    violations, _ = check(window, stats, suggest_constraints(stats))
    assert [v for v in violations if v.constraint_check_type == "range_check"] == []
    window["ratio"] = np.r_[np.full(150, 0.67), np.linspace(0.0, 0.6, 150)]  # really outside
    violations, _ = check(window, stats, suggest_constraints(stats))
    outside = next(v for v in violations if v.constraint_check_type == "range_check")
    assert outside.feature_name == "ratio" and outside.baseline_value == 0.0 and outside.observed_value == 0.5


def test_baseline_drift_reports_baseline_and_window_in_one_unit(
    baseline: Baseline, held_out: pd.DataFrame, encoding: FeatureEncoding
) -> None:
    frame = monitor_frame(held_out, encoding)
    frame["monthly_charges"] = frame["monthly_charges"] * 3
    violations, _ = check(frame, baseline.statistics, baseline.constraints)
    v = next(v for v in violations if v.constraint_check_type == "baseline_drift_check")
    assert v.feature_name == "monthly_charges"
    # both are P(X <= x) at the largest gap: a share beside a share, not a mean beside a distance
    assert isinstance(v.baseline_value, float) and isinstance(v.observed_value, float)
    assert 0.0 <= v.baseline_value <= 1.0 and 0.0 <= v.observed_value <= 1.0
    assert abs(v.baseline_value - v.observed_value) > 0.1 and v.noise_band is not None and v.noise_band < 0.1
