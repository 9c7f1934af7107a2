"""One run of the monitors over a window: bias drift, failures kept to one monitor, skipped monitors, an
empty window, and agreement of the drift tests with evidently's own report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops.core.errors import ValidationError
from mlops.core.monitoring import BiasConfig, CaptureSummary, MonitoringExecutionStatus, MonitoringType, MonitorSpec
from mlops.monitoring import bias
from mlops.monitoring.baseline import Baseline, bias_baseline
from mlops.monitoring.drift import column_thresholds, drift_check
from mlops.monitoring.features import monitor_frame
from mlops.monitoring.runner import run_monitors
from mlops.monitoring.window import WindowData

WindowOf = Callable[..., WindowData]

ALL = [MonitorSpec(MonitoringType=m) for m in MonitoringType]
GENDER = BiasConfig(Facet="gender")


def test_bias_drift_is_caught_and_equal_treatment_is_not(
    baseline: Baseline, held_out: pd.DataFrame, window_of: WindowOf
) -> None:
    reference = bias_baseline(baseline, GENDER)
    assert reference.post_training_bias_metrics is not None
    values = [fb.value_or_threshold for fb in reference.post_training_bias_metrics.facets["gender"]]
    assert values == ["female", "male"]
    fair = window_of(held_out)
    out = bias.outcomes(fair.labels, fair.scores, baseline.manifest.Encoding, GENDER, 0.5)
    analysis, noise, _ = bias.analyse(fair.features, out, GENDER, baseline.manifest.Encoding, seed=1, draws=200)
    assert bias.check(reference, analysis, noise, "gender")[0] == []
    scores = np.where(held_out["gender"] == "female", np.minimum(fair.scores + 0.3, 1), fair.scores)  # type: ignore[operator]
    out = bias.outcomes(fair.labels, scores, baseline.manifest.Encoding, GENDER, 0.5)
    analysis, noise, _ = bias.analyse(fair.features, out, GENDER, baseline.manifest.Encoding, seed=1, draws=200)
    violations, metrics = bias.check(reference, analysis, noise, "gender")
    flagged = {(v.facet_value, v.metric_name) for v in violations}
    assert ("female", "DPPL") in flagged and ("female", "DI") in flagged
    v = next(v for v in violations if v.metric_name == "DPPL" and v.facet_value == "female")
    assert v.constraint_check_type == "bias_drift_check" and v.facet == "gender" and v.threshold == 0.1
    assert "does not meet the constraint requirement" in v.description and metrics["DPPL.female"] < -0.1


def test_noise_of_a_small_window_does_not_page(baseline: Baseline, held_out: pd.DataFrame, window_of: WindowOf) -> None:
    reference = bias_baseline(baseline, GENDER)
    small = window_of(held_out.iloc[:60])
    out = bias.outcomes(small.labels, small.scores, baseline.manifest.Encoding, GENDER, 0.5)
    analysis, noise, _ = bias.analyse(small.features, out, GENDER, baseline.manifest.Encoding, seed=2, draws=200)
    assert bias.check(reference, analysis, noise, "gender")[0] == []
    assert noise[("female", "DCA")] > 0.1  # large standard errors: the guard at work


def test_a_missing_facet_fails_the_bias_monitor_only_with_a_clear_message(
    baseline: Baseline, held_out: pd.DataFrame, window_of: WindowOf, model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="no column 'sex'.*columns: gender"):
        bias_baseline(baseline, BiasConfig(Facet="sex"))
    window = window_of(held_out.iloc[:400])
    specs = [
        MonitorSpec(MonitoringType=MonitoringType.DataQuality),
        MonitorSpec(MonitoringType=MonitoringType.ModelBias),
    ]
    run = run_monitors(
        window,
        baseline,
        specs,
        "churn",
        "r1",
        model=model,
        bias_config=BiasConfig(Facet="sex"),
        out_dir=tmp_path,
        html=False,
    )
    quality, bias_result = run.Monitors
    assert quality.MonitoringExecutionStatus is MonitoringExecutionStatus.Completed
    assert bias_result.MonitoringExecutionStatus is MonitoringExecutionStatus.Failed
    assert "facet: no column 'sex' in the monitored data" in (bias_result.FailureReason or "")
    assert run.MonitoringExecutionStatus is MonitoringExecutionStatus.Completed
    assert "bias: facet: no column 'sex'" in (run.FailureReason or "")
    assert json.loads((tmp_path / "violations.json").read_text()) == {"violations": []}


def test_model_quality_waits_for_ground_truth(baseline: Baseline, held_out: pd.DataFrame, window_of: WindowOf) -> None:
    window = window_of(held_out.iloc[:300])
    labels = window.labels.copy()  # type: ignore[union-attr]
    labels[50:] = np.nan
    spec = [MonitorSpec(MonitoringType=MonitoringType.ModelQuality, MinLabeledRows=100)]
    run = run_monitors(replace(window, labels=labels), baseline, spec, "churn", "r2", html=False)
    result = run.Monitors[0]
    assert result.MonitoringExecutionStatus is MonitoringExecutionStatus.Skipped
    assert result.FailureReason == "only 50 of 300 rows have ground truth and an answer; 100 needed (MinLabeledRows)"
    run = run_monitors(window_of(held_out.iloc[:300], labels=False), baseline, spec, "churn", "r3", html=False)
    assert run.Monitors[0].FailureReason == "no ground truth was read for this window"


def test_an_empty_window_fails_the_run_and_says_what_was_read(
    baseline: Baseline, held_out: pd.DataFrame, window_of: WindowOf
) -> None:
    window = window_of(held_out.iloc[:0])
    window = replace(window, capture=CaptureSummary(Files=2, Records=0, MalformedLines=3, Problems=("f.jsonl:1: bad",)))
    run = run_monitors(window, baseline, ALL, "churn-endpoint", "r4", capture_location="/data/capture")
    assert run.MonitoringExecutionStatus is MonitoringExecutionStatus.Failed and run.Monitors == ()
    assert "holds no captured rows for endpoint 'churn-endpoint' under /data/capture" in (run.FailureReason or "")
    assert "read 2 file(s), 0 record(s) (3 malformed line(s); first: f.jsonl:1: bad)" in (run.FailureReason or "")


def test_a_run_writes_violations_and_evidentlys_report(
    baseline: Baseline, held_out: pd.DataFrame, window_of: WindowOf, model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    rows = held_out.iloc[:600].copy()
    rows["monthly_charges"] += 25
    run = run_monitors(window_of(rows), baseline, ALL, "churn", "r5", model=model, bias_config=GENDER, out_dir=tmp_path)
    assert run.MonitoringExecutionStatus is MonitoringExecutionStatus.CompletedWithViolations
    drift = run.result(MonitoringType.DataDrift)
    assert drift is not None
    moved = next(v for v in drift.Violations if v.feature_name == "monthly_charges")
    columns = len(baseline.manifest.Columns)  # a p-value test per column, at 1% for the whole window
    assert moved.metric_name == "ks" and moved.threshold == pytest.approx(0.01 / columns)
    assert moved.observed_value < 1e-6 and moved.window_rows == 600  # type: ignore[operator]
    listed = json.loads((tmp_path / "violations.json").read_text())["violations"]
    assert {
        "monitoring_type",
        "constraint_check_type",
        "feature_name",
        "observed_value",
        "threshold",
        "description",
    } <= set(listed[0])
    assert len(listed) == len(run.violations)
    html = (tmp_path / "report.html").read_text()
    assert run.ReportUri == str(tmp_path / "report.html") and "Drift for column monthly_charges" in html
    # one page for the run: its own title, the endpoint, the window, every monitor, evidently as a section
    assert "<title>Monitoring run r5 — churn</title>" in html and "plotly-logomark" not in html.split("<body>")[0]
    assert html.count("<h3>") == len(ALL) and "2026-11-22T03:00:00+00:00 .. 2026-11-22T04:00:00+00:00" in html
    assert "<section class='evidently'>" in html and "<iframe" in html
    assert (tmp_path / "data-quality" / "statistics.json").is_file() and (
        tmp_path / "attribution" / "analysis.json"
    ).is_file()


def test_drift_decisions_agree_with_evidentlys_report(baseline: Baseline, held_out: pd.DataFrame, encoding) -> None:  # type: ignore[no-untyped-def]
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    rows = held_out.iloc[:500].copy()
    rows["tenure_months"] = rows["tenure_months"] * 2
    current = monitor_frame(rows, encoding)
    reference = baseline.features.iloc[:3000]
    spec = MonitorSpec(MonitoringType=MonitoringType.DataDrift, DriftMethods={"age": "psi"})
    _, _, ours = drift_check(reference, current, spec)
    plain = lambda f: f.astype({c: str for c in f.columns if str(f[c].dtype) == "category"})  # noqa: E731
    cats = [c for c in reference.columns if str(reference[c].dtype) == "category"]
    definition = DataDefinition(
        numerical_columns=[c for c in reference.columns if c not in cats], categorical_columns=cats
    )
    methods, thresholds = column_thresholds(reference, current, spec)  # what the run's report gives evidently
    preset = DataDriftPreset(per_column_method=methods, per_column_threshold=thresholds)
    snapshot = Report([preset], include_tests=True).run(
        current_data=Dataset.from_pandas(plain(current), data_definition=definition),
        reference_data=Dataset.from_pandas(plain(reference), data_definition=definition),
    )
    theirs = {
        t["metric_config"]["params"]["column"]: t["status"] == "FAIL"
        for t in snapshot.dict()["tests"]
        if t["metric_config"]["params"]["type"].endswith("ValueDrift")
    }
    assert {d.column: d.drifted for d in ours} == theirs
    assert theirs["tenure_months"] and next(d.method for d in ours if d.column == "age") == "psi"
    assert {d.method for d in ours if d.column != "age"} == {"ks", "chisquare_homogeneity"}
