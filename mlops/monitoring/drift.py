"""The data-drift monitor: a two-sample test per feature, with the window's false-alarm rate held at the
schedule's ``FalseAlarmRate`` (alpha, default 1%) across all features.

Each feature gets a test that returns a p-value and accounts for the sizes of both samples: numbers the
two-sample Kolmogorov-Smirnov test (evidently's ``ks``), categories the chi-square test of homogeneity of
the 2 x k table of counts (``chisquare_homogeneity``, ours, registered with evidently so its report runs
the same test; evidently's own ``chisquare`` treats the reference's shares as exact, which pages on a
small reference). A feature drifts when its p-value is below alpha / k, k the number of features tested
(Bonferroni), so a window of unchanged data is flagged at most alpha of the time however many features it
has. A column may name another evidently method (``DriftMethods``) or its own threshold
(``DriftThresholds``, used as given): a distance method (psi, wasserstein, …) is not calibrated to the
window's size, and the result says so.

The tests run directly on the whole window (evidently's ``Report`` renders every widget while it computes);
the HTML report (``report.py``) runs evidently with the same methods and thresholds on a sample.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops.core.errors import ValidationError
from mlops.core.monitoring import MonitoringType, MonitorSpec, Violation
from mlops.monitoring.constraints import is_categorical

KIND = MonitoringType.DataDrift
MIN_ROWS = 50  # fewer window rows and the drift tests are not judged
NUMERIC_METHOD = "ks"
CATEGORICAL_METHOD = "chisquare_homogeneity"
MIN_EXPECTED = 5.0  # categories expected fewer times than this (in either sample) are pooled


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    method: str  # evidently's name, e.g. ks, chisquare_homogeneity, psi
    method_display: str
    score: float  # a p-value for p-value tests, else the method's distance
    threshold: float
    drifted: bool
    categorical: bool
    p_value: bool  # whether score is a p-value (drift below the threshold) or a distance (at or above)
    reference_summary: str = ""  # what changed, in the feature's own unit (mean, or a category's share)
    window_summary: str = ""


def _homogeneity_p_value(reference: pd.Series, current: pd.Series) -> float:
    """The chi-square test of homogeneity of two samples of a categorical variable: both samples' counts
    are random (a goodness-of-fit test against the reference's shares is not, and pages on chance)."""
    from scipy.stats import chi2_contingency

    ref, cur = reference.astype(str).value_counts(), current.astype(str).value_counts()
    keys = sorted(set(ref.index) | set(cur.index))
    table = np.array([[float(ref.get(k, 0)) for k in keys], [float(cur.get(k, 0)) for k in keys]])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    rare = expected.min(axis=0) < MIN_EXPECTED
    if rare.any():  # pooled, so the chi-square approximation holds
        pooled = table[:, rare].sum(axis=1, keepdims=True)
        table = np.concatenate([table[:, ~rare], pooled], axis=1) if (~rare).any() else pooled
        table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(table, correction=False)[1])


_registered = False


def register_methods() -> None:
    """Register ``chisquare_homogeneity`` with evidently (its report then runs our test by name)."""
    global _registered
    if _registered:
        return
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    def impl(reference: pd.Series, current: pd.Series, feature_type: object, threshold: float) -> tuple[float, bool]:
        p = _homogeneity_p_value(reference, current)
        return p, p < threshold

    test = StatTest(
        name=CATEGORICAL_METHOD,
        display_name="chi-square homogeneity p_value",
        allowed_feature_types=[ColumnType.Categorical],
        default_threshold=0.01,
    )
    register_stattest(test, default_impl=impl)
    _registered = True


def _clean(series: pd.Series, categorical: bool) -> pd.Series:
    if categorical:
        return series.dropna().astype(str)
    values = pd.to_numeric(series, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
    return values.astype(np.float64)


def _summary(values: pd.Series, categorical: bool, category: str | None) -> str:
    if not categorical:
        return f"mean {float(values.mean()):.4g}"
    share = float((values == category).mean()) if len(values) else 0.0
    return f"{category!r} {share:.1%}"


def method_for(categorical: bool, named: str | None) -> str:
    return named or (CATEGORICAL_METHOD if categorical else NUMERIC_METHOD)


def column_drift(
    name: str,
    reference: pd.Series,
    current: pd.Series,
    categorical: bool,
    method: str | None = None,
    threshold: float | None = None,
) -> ColumnDrift | None:
    """One column's drift test; None when either side holds no values."""
    from evidently.legacy.calculations.stattests.registry import StatTestNotFoundError, get_stattest
    from evidently.legacy.core import ColumnType

    register_methods()
    kind = ColumnType.Categorical if categorical else ColumnType.Numerical
    ref, cur = _clean(reference, categorical), _clean(current, categorical)
    if ref.empty or cur.empty:
        return None
    try:
        test = get_stattest(ref, cur, kind, method_for(categorical, method))
    except (StatTestNotFoundError, ValueError) as e:
        raise ValidationError(f"drift method for column {name}", str(e)) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's small-sample warnings: the result says what it found
        result = test(ref, cur, kind, threshold)
    p_value = test.name in P_VALUE_TESTS
    moved = None
    if categorical:
        ref_share, cur_share = ref.value_counts(normalize=True), cur.value_counts(normalize=True)
        gaps = (cur_share.reindex(ref_share.index.union(cur_share.index), fill_value=0.0)
                - ref_share.reindex(ref_share.index.union(cur_share.index), fill_value=0.0)).abs()  # fmt: skip
        moved = str(gaps.idxmax()) if len(gaps) else None
    return ColumnDrift(
        column=name,
        method=test.name,
        method_display=test.display_name,
        score=float(result.drift_score),
        threshold=float(result.actual_threshold),
        drifted=bool(result.drifted),
        categorical=categorical,
        p_value=p_value,
        reference_summary=_summary(ref, categorical, moved),
        window_summary=_summary(cur, categorical, moved),
    )


def column_thresholds(
    reference: pd.DataFrame, current: pd.DataFrame, spec: MonitorSpec
) -> tuple[dict[str, str], dict[str, float]]:
    """The method and threshold each column is judged with: a p-value test at alpha / k (k the columns judged
    by p-value tests without a threshold of their own), or what the schedule names for the column."""
    methods: dict[str, str] = {}
    for name in reference.columns:
        if name in current.columns:
            methods[str(name)] = method_for(is_categorical(reference[name]), spec.DriftMethods.get(str(name)))
    adjusted = [c for c, m in methods.items() if m in P_VALUE_TESTS and c not in spec.DriftThresholds]
    per_column = spec.FalseAlarmRate / max(len(adjusted), 1)
    thresholds = {c: spec.DriftThresholds.get(c, per_column) for c, m in methods.items() if c in spec.DriftThresholds
                  or m in P_VALUE_TESTS}  # fmt: skip
    return methods, thresholds


def drift_check(
    reference: pd.DataFrame, current: pd.DataFrame, spec: MonitorSpec
) -> tuple[list[Violation], dict[str, float], list[ColumnDrift]]:
    """Per-feature drift of ``current`` against ``reference`` (both monitored views)."""
    unknown = sorted((set(spec.DriftMethods) | set(spec.DriftThresholds)) - {str(c) for c in reference.columns})
    if unknown:
        raise ValidationError("DriftMethods/DriftThresholds", f"no such column(s): {', '.join(unknown)}")
    methods, thresholds = column_thresholds(reference, current, spec)
    adjusted = len([c for c in thresholds if c not in spec.DriftThresholds])
    drifts: list[ColumnDrift] = []
    for name in reference.columns:
        if str(name) not in methods:
            continue  # the data-quality monitor reports missing columns
        found = column_drift(
            str(name),
            reference[name],
            current[name],
            is_categorical(reference[name]),
            methods[str(name)],
            thresholds.get(str(name)),
        )
        if found is not None:
            drifts.append(found)
    drifted = [d for d in drifts if d.drifted]
    share = len(drifted) / len(drifts) if drifts else 0.0
    violations: list[Violation] = []
    for d in drifted:
        if d.p_value:
            test = f"{d.method_display} {d.score:.3g} is below {d.threshold:.3g}"
            if d.column not in spec.DriftThresholds:
                test += f" (false-alarm rate {spec.FalseAlarmRate:g} over {adjusted} features)"
        else:
            test = f"{d.method_display} {d.score:.4g} is at or above {d.threshold:g} (a distance: not calibrated to " \
                   f"the window's size)"  # fmt: skip
        violations.append(
            Violation(
                monitoring_type=KIND,
                constraint_check_type="data_drift_check",
                feature_name=d.column,
                metric_name=d.method,
                observed_value=d.score,
                threshold=d.threshold,
                window_rows=len(current),
                description=f"Drift detected in {d.column!r}: {test}; reference {d.reference_summary}, "
                f"window {d.window_summary}",
            )
        )
    if drifts and share >= spec.DriftShare:
        violations.append(
            Violation(
                monitoring_type=KIND,
                constraint_check_type="dataset_drift_check",
                metric_name="share_of_drifted_columns",
                baseline_value=0.0,
                observed_value=share,
                threshold=spec.DriftShare,
                window_rows=len(current),
                description=f"Dataset drift: {len(drifted)} of {len(drifts)} columns drifted "
                f"({share:.0%} >= {spec.DriftShare:.0%})",
            )
        )
    metrics = {
        "share_of_drifted_columns": share,
        "number_of_drifted_columns": float(len(drifted)),
        "columns_tested": float(len(drifts)),
    }
    metrics.update({f"drift_score.{d.column}": d.score for d in drifts})
    return violations, metrics, drifts


# evidently's tests that return a p-value (drift when below the threshold); the others return distances.
P_VALUE_TESTS = frozenset(
    {
        "ks",
        "chisquare",
        CATEGORICAL_METHOD,
        "z",
        "anderson",
        "fisher_exact",
        "g_test",
        "mannw",
        "t_test",
        "cramer_von_mises",
        "epps_singleton",
        "TVD",
        "empirical_mmd",
    }
)
