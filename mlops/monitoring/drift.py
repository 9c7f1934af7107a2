"""The data-drift monitor: evidently's drift test per feature and the share of drifted features.

The tests are evidently's own (``get_stattest``: the method chosen by column type, reference size and
number of values, exactly as ``DataDriftPreset`` chooses it, or the one named per column), called
directly on the whole window: evidently's ``Report`` renders every widget while it computes, which costs
seconds per window; the HTML report (``report.py``) is rendered once per run, from a sample.
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


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    method: str  # evidently's name, e.g. wasserstein, jensenshannon, ks
    method_display: str
    score: float
    threshold: float
    drifted: bool
    categorical: bool


def _clean(series: pd.Series, categorical: bool) -> pd.Series:
    if categorical:
        return series.dropna().astype(str)
    values = pd.to_numeric(series, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
    return values.astype(np.float64)


def column_drift(
    name: str,
    reference: pd.Series,
    current: pd.Series,
    categorical: bool,
    method: str | None = None,
    threshold: float | None = None,
) -> ColumnDrift | None:
    """evidently's drift test of one column; None when either side holds no values."""
    from evidently.legacy.calculations.stattests.registry import StatTestNotFoundError, get_stattest
    from evidently.legacy.core import ColumnType

    kind = ColumnType.Categorical if categorical else ColumnType.Numerical
    ref, cur = _clean(reference, categorical), _clean(current, categorical)
    if ref.empty or cur.empty:
        return None
    try:
        test = get_stattest(ref, cur, kind, method)
    except (StatTestNotFoundError, ValueError) as e:
        raise ValidationError(f"drift method for column {name}", str(e)) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's small-sample warnings: the result says what it found
        result = test(ref, cur, kind, threshold)
    return ColumnDrift(
        column=name,
        method=test.name,
        method_display=test.display_name,
        score=float(result.drift_score),
        threshold=float(result.actual_threshold),
        drifted=bool(result.drifted),
        categorical=categorical,
    )


def drift_check(
    reference: pd.DataFrame, current: pd.DataFrame, spec: MonitorSpec
) -> tuple[list[Violation], dict[str, float], list[ColumnDrift]]:
    """Per-feature drift of ``current`` against ``reference`` (both monitored views)."""
    unknown = sorted((set(spec.DriftMethods) | set(spec.DriftThresholds)) - {str(c) for c in reference.columns})
    if unknown:
        raise ValidationError("DriftMethods/DriftThresholds", f"no such column(s): {', '.join(unknown)}")
    drifts: list[ColumnDrift] = []
    for name in reference.columns:
        if name not in current.columns:
            continue  # the data-quality monitor reports missing columns
        categorical = is_categorical(reference[name])
        found = column_drift(
            str(name),
            reference[name],
            current[name],
            categorical,
            spec.DriftMethods.get(str(name)),
            spec.DriftThresholds.get(str(name)),
        )
        if found is not None:
            drifts.append(found)
    drifted = [d for d in drifts if d.drifted]
    share = len(drifted) / len(drifts) if drifts else 0.0
    violations: list[Violation] = []
    for d in drifted:
        relation = "below" if d.method in _P_VALUE_TESTS else "at or above"
        violations.append(
            Violation(
                monitoring_type=KIND,
                constraint_check_type="data_drift_check",
                feature_name=d.column,
                metric_name=d.method,
                observed_value=d.score,
                threshold=d.threshold,
                description=f"Drift detected in {d.column!r}: {d.method_display} {d.score:.4g} is {relation} the "
                f"threshold {d.threshold:g}",
            )
        )
    if drifts and share >= spec.DriftShare:
        violations.append(
            Violation(
                monitoring_type=KIND,
                constraint_check_type="dataset_drift_check",
                metric_name="share_of_drifted_columns",
                observed_value=share,
                threshold=spec.DriftShare,
                description=f"Dataset drift: {len(drifted)} of {len(drifts)} columns drifted "
                f"({share:.0%} >= {spec.DriftShare:.0%})",
            )
        )
    metrics = {"share_of_drifted_columns": share, "number_of_drifted_columns": float(len(drifted))}
    metrics.update({f"drift_score.{d.column}": d.score for d in drifts})
    return violations, metrics, drifts


# evidently's tests that return a p-value (drift when below the threshold); the others return distances.
_P_VALUE_TESTS = frozenset(
    {
        "ks",
        "chisquare",
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
