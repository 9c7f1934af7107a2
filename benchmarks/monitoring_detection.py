"""Does each monitor catch the drift it is meant for, and stay quiet when nothing drifted?

    python benchmarks/monitoring_detection.py [--seeds 20] [--window 2000]

Built from the bundled churn data (mlops.data.churn_sample): an xgboost model trained on 40,000 rows,
a baseline of those rows (with the model's scores, attributions and the bias baseline for ``gender``),
and windows of ``--window`` rows drawn from 20,000 held-out rows, one per seed and scenario:

- no-drift:     a plain sample;
- covariate:    monthly_charges raised by 10 (about half a standard deviation), one feature only;
- label-shift:  sampled so that 55% of the rows churned (27% in training), P(x | y) unchanged;
- concept:      labels flipped for the two-year-contract segment (20% of rows);
- facet-bias:   the model's scores raised by 0.25 for gender=female only;
- attribution:  the window is served by a model retrained with tenure_months and age swapped (a
                feature-order bug): tenure's effect replaced by age's.

Every window is fully labelled (the ground truth join itself is tested elsewhere), the monitors run
as in production (``run_monitors``, without the HTML report). Goal: each injected drift caught by its
monitor in every seed; no alarm at all in the no-drift scenario. Prints scenario x monitor → alarms.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import xgboost as xgb

from benchmarks._common import save, table
from mlops.core.monitoring import BiasConfig, MonitoringType, MonitorSpec
from mlops.data.churn_sample import generate
from mlops.data.formats import build_encoding, encode_features, encode_labels
from mlops.monitoring.baseline import bias_baseline, suggest_baseline
from mlops.monitoring.features import label_index, monitor_frame
from mlops.monitoring.models import XGBoostModel
from mlops.monitoring.runner import run_monitors
from mlops.monitoring.window import WindowData

SCENARIOS = {
    "no-drift": None,
    "covariate": MonitoringType.DataDrift,
    "label-shift": MonitoringType.ModelQuality,
    "concept": MonitoringType.ModelQuality,
    "facet-bias": MonitoringType.ModelBias,
    "attribution": MonitoringType.ModelExplainability,
}
MONITORS = list(MonitoringType)
PARAMS = {"objective": "binary:logistic", "max_depth": 4, "eta": 0.2, "nthread": 1, "seed": 0}


def train(frame: pd.DataFrame, encoding, rounds: int = 80) -> XGBoostModel:
    X, y = encode_features(frame, encoding), encode_labels(None, frame, encoding)
    return XGBoostModel(xgb.train(PARAMS, xgb.DMatrix(X, label=y), rounds))


def window_rows(pool: pd.DataFrame, scenario: str, size: int, rng: np.random.Generator) -> pd.DataFrame:
    if scenario == "label-shift":
        positive, negative = pool[pool.churn == 1], pool[pool.churn == 0]
        k = int(0.55 * size)
        rows = pd.concat(
            [
                positive.iloc[rng.choice(len(positive), k, replace=False)],
                negative.iloc[rng.choice(len(negative), size - k, replace=False)],
            ]
        )
        return rows.iloc[rng.permutation(size)].reset_index(drop=True)
    rows = pool.iloc[rng.choice(len(pool), size, replace=False)].reset_index(drop=True)
    if scenario == "covariate":
        rows["monthly_charges"] = rows["monthly_charges"] + 10.0
    if scenario == "concept":
        segment = rows["contract"] == "two-year"
        rows.loc[segment, "churn"] = 1 - rows.loc[segment, "churn"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--window", type=int, default=2000)
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate(60_000, seed=7)
    training, pool = data.iloc[:40_000].reset_index(drop=True), data.iloc[40_000:].reset_index(drop=True)
    encoding = build_encoding(training, "churn")
    model = train(training, encoding)
    swapped = training.assign(tenure_months=training["age"], age=training["tenure_months"])
    model_swapped = train(swapped, encoding)
    facet = BiasConfig(Facet="gender")
    baseline = suggest_baseline("churn", training, encoding, "churn_sample(60000, seed=7)[:40000]", model=model)
    baseline = type(baseline)(**{**baseline.__dict__, "bias": {"gender": bias_baseline(baseline, facet)}})
    setup = time.perf_counter() - started
    specs = [MonitorSpec(MonitoringType=m) for m in MONITORS]
    alarms = {s: {m: 0 for m in MONITORS} for s in SCENARIOS}
    seconds = {m: 0.0 for m in MONITORS}
    failures: list[str] = []
    start = datetime(2026, 11, 22, tzinfo=UTC)
    for scenario in SCENARIOS:
        for seed in range(args.seeds):
            rng = np.random.default_rng(1000 * list(SCENARIOS).index(scenario) + seed)
            rows = window_rows(pool, scenario, args.window, rng)
            serving = model_swapped if scenario == "attribution" else model
            scores = serving.predict(encode_features(rows, encoding))
            if scenario == "facet-bias":
                scores = np.where(rows["gender"] == "female", np.minimum(scores + 0.25, 1.0), scores)
            window = WindowData(
                start=start,
                end=start + timedelta(hours=1),
                features=monitor_frame(rows, encoding),
                scores=scores,
                inference_ids=np.array([f"{scenario}-{seed}-{i}" for i in range(len(rows))], dtype=object),
                labels=label_index(rows["churn"], encoding),
            )
            run = run_monitors(
                window,
                baseline,
                specs,
                "churn-endpoint",
                f"{scenario}-{seed}",
                model=serving,
                bias_config=facet,
                html=False,
                seed=seed,
            )
            for result in run.Monitors:
                seconds[result.MonitoringType] += result.DurationSeconds
                if result.FailureReason:
                    failures.append(f"{scenario}/{seed}/{result.MonitoringType.value}: {result.FailureReason}")
                if result.Violations:
                    alarms[scenario][result.MonitoringType] += 1
                    if scenario == "no-drift":
                        failures.append(f"false alarm {seed}: {result.Violations[0].description}")
    elapsed = time.perf_counter() - started
    headers = ["scenario \\ monitor", *[m.value for m in MONITORS], "meant for"]
    rows_out = [
        [s, *[f"{alarms[s][m]}/{args.seeds}" for m in MONITORS], SCENARIOS[s].value if SCENARIOS[s] else "(none)"]
        for s in SCENARIOS
    ]
    print(
        f"monitoring detection: {len(SCENARIOS)} scenarios x {args.seeds} seeds, windows of {args.window} rows, "
        f"baseline of 40,000 rows; setup {setup:.1f} s, total {elapsed:.1f} s"
    )
    print(table(headers, rows_out))
    runs = len(SCENARIOS) * args.seeds
    print("mean seconds per window: " + ", ".join(f"{m.value} {seconds[m] / runs:.2f}" for m in MONITORS))
    caught = all(alarms[s][m] == args.seeds for s, m in SCENARIOS.items() if m is not None)
    quiet = all(v == 0 for v in alarms["no-drift"].values())
    print(f"every injected drift caught by its monitor in every seed: {'yes' if caught else 'NO'}")
    print(f"no alarm in the no-drift scenario: {'yes' if quiet else 'NO'}")
    for line in failures[:20]:
        print(f"  {line}")
    save(
        "monitoring_detection",
        {
            "seeds": args.seeds,
            "window": args.window,
            "alarms": {s: {m.value: n for m, n in v.items()} for s, v in alarms.items()},
            "caught": caught,
            "quiet": quiet,
            "seconds": elapsed,
        },
    )


if __name__ == "__main__":
    main()
