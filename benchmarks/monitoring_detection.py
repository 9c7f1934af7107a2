"""Does each monitor catch the drift it is meant for, and stay quiet when nothing drifted, on tables it was
never tuned on and at every window size?

    python benchmarks/monitoring_detection.py [--quick] [--clean 60] [--shifted 5] [--sizes 200,500,…]

Five tables: churn (the bundled mlops.data.churn_sample: numbers, categories, a protected attribute) and
four made with scikit-learn's generators: multiclass (4 classes, 10 features), regression (8 features),
wide (64 features, binary) and mixed (20 features, binary, 4 of them integers and 2 categories). Each is
split into 20,000 training rows (an xgboost model), 5,000 baseline rows the model never saw (the baseline,
with its scores, attributions and a bias baseline) and 200,000 held-out rows the windows are drawn from
(a pool ten times the baseline's, so that the windows behave like fresh draws of the same population:
windows drawn from a small fixed pool share its chance offset from the baseline).

For every table and window size (200, 500, 1,000, 2,000, 5,000 rows):

- clean windows, plain samples of held-out rows: every alarm is a false alarm;
- windows with one injected shift each, as before:
  covariate (data-drift): one numeric feature raised by half its standard deviation (churn:
  monthly_charges + 10); label-shift (model-quality, binary tables): 55% positives, P(x | y) unchanged;
  concept (model-quality): the labels of a fifth of the rows changed (flipped, next class, or negated);
  facet-bias (bias): the model's scores raised for one facet group only (+0.25; regression: + half a
  standard deviation); attribution: the window served by a model trained with the most important
  feature and another swapped (churn: tenure_months and age).

Every window is fully labelled; the monitors run as in production (``run_monitors``, without the HTML
report) at their default false-alarm rate (1% per monitor per window). Prints the false-alarm rate per
monitor x table x window size and the detection rate of each shift by its monitor, with the number of
windows. ``--quick``: two tables, two sizes, few windows (a smoke test, not a measurement).
"""

from __future__ import annotations

import argparse
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import xgboost as xgb

from benchmarks._common import save, table
from mlops.core.datasets import FeatureEncoding, ProblemType
from mlops.core.monitoring import BiasConfig, MonitoringExecutionStatus, MonitoringType, MonitorSpec
from mlops.data.churn_sample import generate
from mlops.data.formats import build_encoding, encode_features, encode_labels
from mlops.monitoring.baseline import Baseline, bias_baseline, suggest_baseline
from mlops.monitoring.features import label_index, monitor_frame
from mlops.monitoring.models import XGBoostModel
from mlops.monitoring.runner import run_monitors
from mlops.monitoring.window import WindowData

MONITORS = list(MonitoringType)
SCENARIOS: dict[str, MonitoringType] = {
    "covariate": MonitoringType.DataDrift,
    "label-shift": MonitoringType.ModelQuality,
    "concept": MonitoringType.ModelQuality,
    "facet-bias": MonitoringType.ModelBias,
    "attribution": MonitoringType.ModelExplainability,
}
SIZES = (200, 500, 1000, 2000, 5000)
SEEDS = {"multiclass": 1, "regression": 2, "wide": 3, "mixed": 4}  # each table's generator seed
TRAIN, BASELINE, POOL = 20_000, 5_000, 200_000
START = datetime(2026, 11, 22, tzinfo=UTC)
SECONDS: dict[MonitoringType, float] = {}  # each monitor's time over every window


@dataclass
class Table:
    name: str
    frame: pd.DataFrame  # TRAIN + BASELINE + POOL rows, the label included
    label: str
    facet: BiasConfig
    shifted: str  # the covariate shift's column
    shift: float
    segment: Callable[[pd.DataFrame], np.ndarray]  # the concept shift's rows
    swap: tuple[str, str] | None = None  # the attribution shift's columns (None: the top feature and the last)


def _sklearn(name: str, seed: int) -> Table:
    from sklearn.datasets import make_classification, make_regression

    n = TRAIN + BASELINE + POOL
    if name == "regression":
        X, y = make_regression(n, n_features=8, n_informative=6, noise=20.0, random_state=seed)
    elif name == "multiclass":
        X, y = make_classification(n, n_features=10, n_informative=6, n_classes=4, n_clusters_per_class=1,
                                   random_state=seed)  # fmt: skip
    elif name == "wide":
        X, y = make_classification(n, n_features=64, n_informative=12, n_redundant=8, random_state=seed)
    else:
        X, y = make_classification(n, n_features=20, n_informative=8, n_redundant=4, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    if name == "mixed":  # integers and categories, as real tables have
        for j in range(4):
            frame[f"x{j}"] = np.round(frame[f"x{j}"] * 2).astype(np.int64)
        frame["x4"] = pd.cut(frame["x4"], [-np.inf, -1, 0, 1, np.inf], labels=["a", "b", "c", "d"]).astype(str)
        frame["x5"] = np.where(frame["x5"] > 0.5, "yes", "no")
    frame["y"] = y if name == "regression" else y.astype(np.int64)
    numeric = [c for c in frame.columns if c != "y" and frame[c].dtype.kind == "f"]
    shifted = numeric[-1]
    cut = float(frame[numeric[0]].median())
    quintile = float(frame[numeric[1]].quantile(0.8))
    return Table(
        name=name,
        frame=frame,
        label="y",
        facet=BiasConfig(Facet=numeric[0], FacetThreshold=cut),
        shifted=shifted,
        shift=0.5 * float(frame[shifted].std()),
        segment=lambda rows: np.asarray(rows[numeric[1]] > quintile),
    )


def tables(names: list[str]) -> list[Table]:
    out = []
    for name in names:
        if name == "churn":
            frame = generate(TRAIN + BASELINE + POOL, seed=7).drop(columns=["customer_id", "signup_date"])
            out.append(Table("churn", frame, "churn", BiasConfig(Facet="gender"), "monthly_charges", 10.0,
                             lambda rows: np.asarray(rows["contract"] == "two-year"), ("tenure_months", "age")))  # fmt: skip
        else:
            out.append(_sklearn(name, seed=SEEDS[name]))
    return out


@dataclass
class Setup:
    table: Table
    encoding: FeatureEncoding
    model: XGBoostModel
    swapped: XGBoostModel
    baseline: Baseline
    pool: pd.DataFrame
    seconds: float


def _params(encoding: FeatureEncoding) -> dict[str, object]:
    common: dict[str, object] = {"max_depth": 4, "eta": 0.2, "nthread": 1, "seed": 0}
    if encoding.ProblemType is ProblemType.Regression:
        return {**common, "objective": "reg:squarederror"}
    if encoding.ProblemType is ProblemType.MulticlassClassification:
        return {**common, "objective": "multi:softprob", "num_class": len(encoding.Classes)}
    return {**common, "objective": "binary:logistic"}


def _train(frame: pd.DataFrame, encoding: FeatureEncoding, rounds: int = 80) -> XGBoostModel:
    X, y = encode_features(frame, encoding), encode_labels(None, frame, encoding)
    return XGBoostModel(xgb.train(_params(encoding), xgb.DMatrix(X, label=y), rounds))


def prepare(t: Table) -> Setup:
    started = time.perf_counter()
    training = t.frame.iloc[:TRAIN].reset_index(drop=True)
    rows = t.frame.iloc[TRAIN : TRAIN + BASELINE].reset_index(drop=True)
    pool = t.frame.iloc[TRAIN + BASELINE :].reset_index(drop=True)
    encoding = build_encoding(training, t.label)
    model = _train(training, encoding)
    baseline = suggest_baseline(t.name, rows, encoding, f"{t.name}[{TRAIN}:{TRAIN + BASELINE}]", model=model)
    if t.swap is None:
        assert baseline.attribution is not None
        values = baseline.attribution.global_values()
        numeric = [c for c in values if c != t.facet.Facet and pd.api.types.is_float_dtype(training[c])]
        ranked = sorted(numeric, key=lambda c: -values[c])
        t = replace(t, swap=(ranked[0], ranked[-1]))
    a, b = t.swap  # type: ignore[misc]
    swapped = _train(training.assign(**{a: training[b], b: training[a]}), encoding)
    baseline = replace(baseline, bias={t.facet.Facet: bias_baseline(baseline, t.facet)})
    return Setup(t, encoding, model, swapped, baseline, pool, time.perf_counter() - started)


def _sample(pool: pd.DataFrame, size: int, rng: np.random.Generator) -> pd.DataFrame:
    return pool.iloc[rng.choice(len(pool), size, replace=False)].reset_index(drop=True)


def shifted_window(
    s: Setup, scenario: str, size: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, XGBoostModel]:
    t, problem = s.table, s.encoding.ProblemType
    serving = s.swapped if scenario == "attribution" else s.model
    if scenario == "label-shift":
        positive = s.pool[s.pool[t.label] == s.pool[t.label].max()]
        negative = s.pool[s.pool[t.label] != s.pool[t.label].max()]
        k = int(0.55 * size)
        rows = pd.concat([_sample(positive, k, rng), _sample(negative, size - k, rng)])
        rows = rows.iloc[rng.permutation(size)].reset_index(drop=True)
    else:
        rows = _sample(s.pool, size, rng)
    if scenario == "covariate":
        rows[t.shifted] = rows[t.shifted] + t.shift
    if scenario == "concept":
        seg = t.segment(rows)
        y = rows[t.label].to_numpy()
        if problem is ProblemType.Regression:
            rows.loc[seg, t.label] = -y[seg]
        elif problem is ProblemType.MulticlassClassification:
            rows.loc[seg, t.label] = (y[seg] + 1) % len(s.encoding.Classes)
        else:
            rows.loc[seg, t.label] = 1 - y[seg]
    scores = serving.predict(encode_features(rows, s.encoding))
    if scenario == "facet-bias":
        group = _facet_group(rows, t.facet)
        if problem is ProblemType.Regression:
            scores = np.where(group, scores + 0.5 * float(s.pool[t.label].std()), scores)
        elif problem is ProblemType.MulticlassClassification:
            raised = scores.copy()
            raised[:, -1] += 0.25
            raised /= raised.sum(axis=1, keepdims=True)
            scores = np.where(group[:, None], raised, scores)
        else:
            scores = np.where(group, np.minimum(scores + 0.25, 1.0), scores)
    return rows, scores, serving


def _facet_group(rows: pd.DataFrame, facet: BiasConfig) -> np.ndarray:
    if facet.FacetThreshold is not None:
        return np.asarray(rows[facet.Facet] > facet.FacetThreshold)
    return np.asarray(rows[facet.Facet] == "female")


def judge(
    s: Setup, rows: pd.DataFrame, scores: np.ndarray, serving: XGBoostModel, seed: int
) -> dict[MonitoringType, str]:
    """Each monitor's verdict on one window: alarm, quiet or skipped (and the first false alarm's text)."""
    window = WindowData(
        start=START,
        end=START + timedelta(hours=1),
        features=monitor_frame(rows, s.encoding),
        scores=scores,
        inference_ids=np.array([f"w{seed}-{i}" for i in range(len(rows))], dtype=object),
        labels=label_index(rows[s.table.label], s.encoding),
    )
    specs = [MonitorSpec(MonitoringType=m) for m in MONITORS]
    run = run_monitors(window, s.baseline, specs, "endpoint", f"w{seed}", model=serving, bias_config=s.table.facet,
                       html=False, seed=seed)  # fmt: skip
    out: dict[MonitoringType, str] = {}
    for result in run.Monitors:
        SECONDS[result.MonitoringType] = SECONDS.get(result.MonitoringType, 0.0) + result.DurationSeconds
        if result.MonitoringExecutionStatus is MonitoringExecutionStatus.Failed:
            raise RuntimeError(f"{s.table.name}: {result.MonitoringType.value} failed: {result.FailureReason}")
        if result.MonitoringExecutionStatus is MonitoringExecutionStatus.Skipped:
            out[result.MonitoringType] = "skipped"
        elif result.Violations:
            v = result.Violations[0]
            out[result.MonitoringType] = f"alarm: {v.constraint_check_type} {v.feature_name or v.metric_name}: " \
                                         f"{v.description[:160]}"  # fmt: skip
        else:
            out[result.MonitoringType] = "quiet"
    return out


def _key(text: str) -> int:
    return zlib.crc32(text.encode())


def _applies(s: Setup, scenario: str) -> bool:
    return not (scenario == "label-shift" and s.encoding.ProblemType is not ProblemType.BinaryClassification)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two tables, two sizes, few windows")
    parser.add_argument("--clean", type=int, default=60, help="clean windows per table and size")
    parser.add_argument("--shifted", type=int, default=5, help="windows per shift, table and size")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--tables", default="churn,multiclass,regression,wide,mixed")
    args = parser.parse_args()
    if args.quick:
        args.clean, args.shifted, args.sizes, args.tables = 10, 2, "200,2000", "churn,regression"
    sizes = [int(x) for x in args.sizes.split(",")]
    started = time.perf_counter()
    setups = [prepare(t) for t in tables(args.tables.split(","))]
    false_alarms: dict[tuple[str, int, MonitoringType], list[int]] = {}  # [alarms, judged, skipped]
    detected: dict[tuple[str, int, str], list[int]] = {}
    examples: list[str] = []
    shown = 0
    for s in setups:
        for size in sizes:
            for i in range(args.clean):
                rng = np.random.default_rng([_key(s.table.name), size, i])
                rows = _sample(s.pool, size, rng)
                verdicts = judge(s, rows, s.model.predict(encode_features(rows, s.encoding)), s.model, i)
                for m, verdict in verdicts.items():
                    cell = false_alarms.setdefault((s.table.name, size, m), [0, 0, 0])
                    cell[2 if verdict == "skipped" else 1] += 1
                    if verdict.startswith("alarm"):
                        cell[0] += 1
                        examples.append(f"{s.table.name}/{size}/{m.value}: {verdict}")
            for scenario, meant in SCENARIOS.items():
                if not _applies(s, scenario):
                    continue
                for i in range(args.shifted):
                    rng = np.random.default_rng([_key(scenario), _key(s.table.name), size, i])
                    verdict = judge(s, *shifted_window(s, scenario, size, rng), 10_000 + i)[meant]
                    cell = detected.setdefault((s.table.name, size, scenario), [0, 0])
                    cell[0] += verdict.startswith("alarm")
                    cell[1] += 1
            fa = ", ".join(f"{m.value} {false_alarms[(s.table.name, size, m)][0]}/{false_alarms[(s.table.name, size, m)][1]}"
                           for m in MONITORS if (s.table.name, size, m) in false_alarms)  # fmt: skip
            dt = ", ".join(
                f"{sc} {v[0]}/{v[1]}" for (tn, n, sc), v in detected.items() if tn == s.table.name and n == size
            )
            print(f"  {s.table.name} {size} rows: false alarms {fa}; detected {dt}", flush=True)
            for line in examples[shown:]:
                print(f"    {line}", flush=True)
            shown = len(examples)
        print(f"  {s.table.name}: done at {time.perf_counter() - started:.0f} s", flush=True)
    elapsed = time.perf_counter() - started

    def rate(a: int, n: int) -> str:
        return f"{a}/{n}" if n else "-"

    print(f"\nmonitoring detection: tables {args.tables}, window sizes {args.sizes}; {args.clean} clean windows and "
          f"{args.shifted} per shift for each table and size; total {elapsed:.0f} s\n")  # fmt: skip
    print("false alarms (clean windows flagged / windows judged; skipped: too small to judge)")
    headers = ["table", "rows", *[m.value for m in MONITORS]]
    lines = []
    for s in setups:
        for size in sizes:
            cells = []
            for m in MONITORS:
                a, n, skipped = false_alarms[(s.table.name, size, m)]
                cells.append(rate(a, n) + (f" ({skipped} skipped)" if skipped else ""))
            lines.append([s.table.name, str(size), *cells])
    print(table(headers, lines))
    print("\ndetection (shifted windows flagged by the monitor meant for the shift / windows)")
    headers = ["table", "rows", *[f"{sc} ({m.value})" for sc, m in SCENARIOS.items()]]
    lines = [
        [s.table.name, str(size), *[rate(*detected.get((s.table.name, size, sc), [0, 0])) for sc in SCENARIOS]]
        for s in setups
        for size in sizes
    ]
    print(table(headers, lines))
    worst = {m: max((a / n for (_, _, mm), (a, n, _) in false_alarms.items() if mm is m and n), default=0.0)
             for m in MONITORS}  # fmt: skip
    total = {m: [sum(v[0] for k, v in false_alarms.items() if k[2] is m),
                 sum(v[1] for k, v in false_alarms.items() if k[2] is m)] for m in MONITORS}  # fmt: skip
    print("\nfalse-alarm rate per monitor over every table and size: " + ", ".join(
        f"{m.value} {total[m][0]}/{total[m][1]} ({total[m][0] / max(total[m][1], 1):.2%}; worst cell {worst[m]:.0%})"
        for m in MONITORS))  # fmt: skip
    windows = sum(v[1] + v[2] for k, v in false_alarms.items() if k[2] is MONITORS[0]) + sum(
        v[1] for v in detected.values()
    )
    print("mean seconds per window: " + ", ".join(f"{m.value} {SECONDS.get(m, 0.0) / max(windows, 1):.3f}"
                                                   for m in MONITORS))  # fmt: skip
    for line in examples[:20]:
        print(f"  {line}")
    save(
        "monitoring_detection",
        {
            "tables": args.tables.split(","),
            "sizes": sizes,
            "clean_windows": args.clean,
            "shifted_windows": args.shifted,
            "false_alarms": {f"{t}/{n}/{m.value}": v for (t, n, m), v in false_alarms.items()},
            "detected": {f"{t}/{n}/{sc}": v for (t, n, sc), v in detected.items()},
            "setup_seconds": {s.table.name: round(s.seconds, 1) for s in setups},
            "seconds": elapsed,
        },
    )


if __name__ == "__main__":
    main()
