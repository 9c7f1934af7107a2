"""One monitoring run of all five monitors over 1M captured rows x 20 features, against evidently's drift
report alone on the same data, measured in the same process.

    python benchmarks/monitoring_speed.py [--rows 1000000] [--capture-rows 50000]

Data: the bundled churn table (14 input columns) plus 6 numeric columns of noise = 20 features, with an
xgboost model trained on 20,000 rows and a baseline of 50,000 rows. The window's 1M rows are generated
directly as a DataFrame (the monitored view with the model's scores and a label for every row), so the
run measures the monitors, not the capture reader; the reader is measured separately on
``--capture-rows`` single-row capture records written in SageMaker's capture format, and its rate is
reported per million rows.

Ours: ``run_monitors`` with data quality, data drift (evidently's tests on the whole window), model
quality, bias (gender; bootstrap on the whole window, the flip test on a 3,000-row sample) and
attribution (TreeSHAP on a 2,000-row sample), plus evidently's HTML report on a 20,000-row sample.
Evidently alone: ``Report([DataDriftPreset()]).run(current=<the 1M rows>, reference=<the baseline's
reference sample>)`` and ``save_html``. Goals: ours <= 60 s; ours <= 1.5 x evidently alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from benchmarks._common import save, table
from mlops.core.monitoring import BiasConfig, MonitoringType, MonitorSpec
from mlops.data.churn_sample import generate
from mlops.data.formats import build_encoding, encode_features, encode_labels
from mlops.monitoring.baseline import bias_baseline, suggest_baseline
from mlops.monitoring.features import label_index, matrix_from_frame, monitor_frame
from mlops.monitoring.models import XGBoostModel
from mlops.monitoring.runner import run_monitors
from mlops.monitoring.window import WindowData, load_capture_window

EXTRA = 6


def table_of(rows: int, seed: int) -> pd.DataFrame:
    frame = generate(rows, seed=seed)
    rng = np.random.default_rng(seed)
    for j in range(EXTRA):
        frame[f"extra_{j}"] = np.round(rng.normal(j, 1 + j, rows), 3)
    return frame


def write_capture(
    folder: Path, endpoint: str, frame: pd.DataFrame, encoding, scores: np.ndarray, hour: datetime
) -> None:
    X = encode_features(frame, encoding)
    target = folder / endpoint / "AllTraffic" / hour.strftime("%Y/%m/%d/%H")
    target.mkdir(parents=True, exist_ok=True)
    stamp = hour.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with open(target / "00-00-000-bench.jsonl", "w") as f:
        for i in range(len(X)):
            line = {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": "text/csv",
                        "mode": "INPUT",
                        "data": ",".join(f"{v:.6g}" for v in X[i]),
                        "encoding": "CSV",
                    },
                    "endpointOutput": {
                        "observedContentType": "application/json",
                        "mode": "OUTPUT",
                        "data": json.dumps({"predictions": [{"score": float(scores[i])}]}),
                        "encoding": "JSON",
                    },
                },
                "eventMetadata": {"eventId": f"e{i}", "inferenceId": f"i{i}", "inferenceTime": stamp},
                "eventVersion": "0",
            }
            f.write(json.dumps(line) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--capture-rows", type=int, default=50_000)
    args = parser.parse_args()

    t = time.perf_counter()
    import evidently  # noqa: F401 - imported once per process (seconds); not part of either measurement

    imported = time.perf_counter() - t
    t = time.perf_counter()
    training = table_of(50_000, seed=7)
    encoding = build_encoding(training, "churn")
    fit = training.iloc[:20_000]
    params = {"objective": "binary:logistic", "max_depth": 5, "eta": 0.2, "nthread": 1}
    booster = xgb.train(
        params, xgb.DMatrix(encode_features(fit, encoding), label=encode_labels(None, fit, encoding)), 100
    )
    model = XGBoostModel(booster)
    facet = BiasConfig(Facet="gender")
    baseline = suggest_baseline("bench", training, encoding, "benchmark", model=model)
    baseline = type(baseline)(**{**baseline.__dict__, "bias": {"gender": bias_baseline(baseline, facet)}})
    raw = table_of(args.rows, seed=8)
    features = monitor_frame(raw, encoding)
    scores = model.predict(matrix_from_frame(features, encoding))
    labels = label_index(raw["churn"], encoding)
    ids = np.array([f"i{i}" for i in range(args.rows)], dtype=object)
    start = datetime(2026, 11, 22, tzinfo=UTC)
    window = WindowData(start, start + timedelta(hours=1), features, scores, ids, labels)
    setup = time.perf_counter() - t
    print(f"import evidently (once per process, in neither measurement): {imported:.1f} s")
    print(f"setup (data, model, baseline, window of {args.rows:,} rows x {features.shape[1]} features): {setup:.1f} s")

    out = Path(tempfile.mkdtemp(prefix="mlops-bench-monitoring-"))
    specs = [MonitorSpec(MonitoringType=m) for m in MonitoringType]
    t = time.perf_counter()
    run = run_monitors(
        window, baseline, specs, "bench", "bench-run", model=model, bias_config=facet, out_dir=out / "run"
    )
    ours = time.perf_counter() - t
    per_monitor = {r.MonitoringType.value: r.DurationSeconds for r in run.Monitors}
    html_seconds = ours - sum(per_monitor.values())
    problems = [f"{r.MonitoringType.value}: {r.FailureReason}" for r in run.Monitors if r.FailureReason]

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from mlops.monitoring.report import _plain

    reference = _plain(baseline.features)
    current = _plain(features)
    categorical = [c for c in reference.columns if reference[c].dtype == object]
    definition = DataDefinition(
        numerical_columns=[c for c in reference.columns if c not in categorical], categorical_columns=categorical
    )
    t = time.perf_counter()
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    snapshot.save_html(str(out / "evidently-alone.html"))
    evidently_alone = time.perf_counter() - t

    capture = out / "capture"
    sample = raw.iloc[: args.capture_rows]
    write_capture(capture, "bench", sample, encoding, scores[: args.capture_rows], start)
    t = time.perf_counter()
    read = load_capture_window(str(capture), "bench", start, start + timedelta(hours=1), baseline.manifest)
    reading = time.perf_counter() - t
    assert read.rows == len(sample), (read.rows, read.capture)

    rows = [
        ["ours: one run, five monitors + HTML report", f"{ours:.1f}"],
        *[[f"  {name}", f"{seconds:.1f}"] for name, seconds in per_monitor.items()],
        ["  evidently HTML report (20,000-row sample)", f"{html_seconds:.1f}"],
        ["evidently alone: DataDriftPreset on all rows + HTML", f"{evidently_alone:.1f}"],
        [f"capture reader: {args.capture_rows:,} single-row records", f"{reading:.1f}"],
    ]
    print(table(["measured (this machine, same process)", "seconds"], rows))
    print(
        f"ours / evidently alone: {ours / evidently_alone:.2f} (goal <= 1.5); ours <= 60 s: "
        f"{'yes' if ours <= 60 else 'NO'}"
    )
    rate = args.capture_rows / reading
    print(f"capture reader: {rate:,.0f} rows/s, i.e. {args.rows / rate:.0f} s per {args.rows:,} single-row records")
    print(f"violations found: {len(run.violations)}; status {run.MonitoringExecutionStatus.value}")
    for line in problems:
        print(f"  {line}")
    save(
        "monitoring_speed",
        {
            "rows": args.rows,
            "ours_s": ours,
            "per_monitor_s": per_monitor,
            "html_s": html_seconds,
            "evidently_alone_s": evidently_alone,
            "capture_rows_per_s": rate,
        },
    )


if __name__ == "__main__":
    main()
