"""The data-quality monitor: a window's statistics against the baseline's constraints, with Model Monitor's
violation names (data_type_check, completeness_check, baseline_drift_check, missing_column_check,
extra_column_check, categorical_values_check) and one of ours (range_check)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlops.core.monitoring import (
    ComparisonMethod,
    DatasetConstraints,
    DatasetStatistics,
    FeatureConstraints,
    FeatureStatistics,
    InferredType,
    MonitoringConfig,
    MonitoringType,
    Switch,
    Violation,
)
from mlops.monitoring.constraints import dataset_statistics, is_categorical, ks_distance

KIND = MonitoringType.DataQuality
KS_99 = 1.628  # c(alpha) of the two-sample Kolmogorov-Smirnov test at alpha = 0.01
Z_99 = 2.576


def _v(
    check: str,
    feature: str,
    description: str,
    baseline_value: float | str | None = None,
    observed_value: float | str | None = None,
    threshold: float | str | None = None,
) -> Violation:
    return Violation(
        monitoring_type=KIND,
        constraint_check_type=check,
        feature_name=feature,
        description=description,
        baseline_value=baseline_value,
        observed_value=observed_value,
        threshold=threshold,
    )


def _setting(c: FeatureConstraints, config: MonitoringConfig, name: str, default: float) -> float:
    return float(c.monitoringConfigOverrides.get(name, default))


def _percent(x: float) -> str:
    return f"{100 * x:.2f}%"


def _type_check(
    c: FeatureConstraints, series: pd.Series, config: MonitoringConfig, unparsable: int
) -> Violation | None:
    present = series.dropna()
    if present.empty or c.inferred_type is InferredType.Unknown:
        return None
    threshold = _setting(c, config, "datatype_check_threshold", config.datatype_check_threshold)
    if c.inferred_type is InferredType.String:
        return None  # anything reads as a string
    if is_categorical(series):
        matching = 0
    else:
        values = present.to_numpy(dtype=np.float64)
        matching = int(np.sum(np.mod(values, 1) == 0)) if c.inferred_type is InferredType.Integral else values.size
    total = int(present.size) + unparsable
    share = matching / total if total else 1.0
    if share < threshold:
        return _v(
            "data_type_check",
            c.name,
            f"Data type match requirement is not met. Expected data type: {c.inferred_type.value}, expected match: "
            f"{_percent(threshold)}. Observed: only {_percent(share)} of data is {c.inferred_type.value}.",
            baseline_value=c.inferred_type.value,
            observed_value=share,
            threshold=threshold,
        )
    return None


def _completeness(c: FeatureConstraints, series: pd.Series, config: MonitoringConfig) -> Violation | None:
    if series.size == 0:
        return None
    observed = float(series.notna().mean())
    required = _setting(c, config, "completeness", c.completeness)
    if observed < required:
        return _v(
            "completeness_check",
            c.name,
            f"Data completeness requirement is not met. Expected completeness: {_percent(required)}, "
            f"observed: {_percent(observed)}.",
            baseline_value=c.completeness,
            observed_value=observed,
            threshold=required,
        )
    return None


def _domain(c: FeatureConstraints, series: pd.Series, config: MonitoringConfig) -> Violation | None:
    if c.string_constraints is None or not c.string_constraints.domains:
        return None
    present = series.dropna()
    if present.empty:
        return None
    counts = present.astype(str).value_counts()
    inside = float(counts[counts.index.isin(c.string_constraints.domains)].sum()) / float(present.size)
    threshold = _setting(c, config, "domain_content_threshold", config.domain_content_threshold)
    if inside < threshold:
        unknown = [str(v) for v in counts.index if v not in c.string_constraints.domains][:5]
        return _v(
            "categorical_values_check",
            c.name,
            f"Data domain requirement is not met: {_percent(inside)} of values are in the baseline's domain, "
            f"{_percent(threshold)} required; values outside it: {', '.join(unknown)}",
            baseline_value=", ".join(c.string_constraints.domains),
            observed_value=inside,
            threshold=threshold,
        )
    return None


def _range(c: FeatureConstraints, series: pd.Series, config: MonitoringConfig) -> Violation | None:
    num = c.num_constraints
    if num is None or is_categorical(series):
        return None
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    low = num.min if num.min is not None else (0.0 if num.is_non_negative else -math.inf)
    high = num.max if num.max is not None else math.inf
    outside = float(np.mean((values < low) | (values > high)))
    threshold = _setting(c, config, "range_check_threshold", config.range_check_threshold)
    if outside > threshold:
        return _v(
            "range_check",
            c.name,
            f"{_percent(outside)} of values lie outside the baseline's range [{low:g}, {high:g}] "
            f"(observed [{values.min():g}, {values.max():g}]); at most {_percent(threshold)} allowed.",
            baseline_value=f"[{low:g}, {high:g}]",
            observed_value=outside,
            threshold=threshold,
        )
    return None


def _drift(
    c: FeatureConstraints, base: FeatureStatistics, series: pd.Series, config: MonitoringConfig
) -> Violation | None:
    dist = config.distribution_constraints
    if dist.perform_comparison is Switch.Disabled:
        return None
    robust = dist.comparison_method is ComparisonMethod.Robust
    n = int(series.notna().sum())
    if n == 0:
        return None
    if base.string_statistics is not None:
        buckets = base.string_statistics.distribution.categorical.buckets
        total = sum(b.count for b in buckets)
        if total <= 0:
            return None
        expected = {b.value: b.count / total for b in buckets}
        observed = series.dropna().astype(str).value_counts(normalize=True).to_dict()
        keys = set(expected) | set(observed)
        gaps = {k: abs(observed.get(k, 0.0) - expected.get(k, 0.0)) for k in keys}
        worst = max(gaps, key=lambda k: gaps[k])
        distance = gaps[worst]
        threshold = _setting(c, config, "categorical_comparison_threshold", dist.categorical_comparison_threshold)
        p = expected.get(worst, 0.0)
        noise = Z_99 * math.sqrt(max(p * (1 - p), 1e-12) / n + max(p * (1 - p), 1e-12) / total)
        if distance > threshold and (not robust or distance > noise):
            return _v(
                "baseline_drift_check",
                c.name,
                f"Baseline drift distance: {distance:.4f} exceeds threshold: {threshold:g} "
                f"(LInfinity; largest change for value {worst!r}: {expected.get(worst, 0.0):.3f} -> "
                f"{observed.get(worst, 0.0):.3f})",
                baseline_value=expected.get(worst, 0.0),
                observed_value=distance,
                threshold=threshold,
            )
        return None
    stats = base.numerical_statistics
    if stats is None or not stats.distribution.quantiles or is_categorical(series):
        return None
    distance = ks_distance(stats.distribution.quantiles, series.to_numpy(dtype=np.float64, na_value=np.nan))
    threshold = _setting(c, config, "comparison_threshold", dist.comparison_threshold)
    m = stats.common.num_present
    noise = KS_99 * math.sqrt((n + m) / (n * m)) if m else 0.0
    if distance > threshold and (not robust or distance > noise):
        return _v(
            "baseline_drift_check",
            c.name,
            f"Baseline drift distance: {distance:.4f} exceeds threshold: {threshold:g} "
            f"(largest gap between the distribution functions; baseline mean {stats.mean:g}, window mean "
            f"{float(series.mean()):g})",
            baseline_value=stats.mean,
            observed_value=distance,
            threshold=threshold,
        )
    return None


def check(
    frame: pd.DataFrame,
    statistics: DatasetStatistics,
    constraints: DatasetConstraints,
    unparsable: dict[str, int] | None = None,
) -> tuple[list[Violation], DatasetStatistics]:
    """The violations of ``frame`` (a window, monitored view) and its own statistics."""
    config = constraints.monitoring_config
    window_stats = dataset_statistics(frame)
    if config.evaluate_constraints is Switch.Disabled:
        return [], window_stats
    unparsable = unparsable or {}
    violations: list[Violation] = []
    known = {c.name for c in constraints.features}
    for c in constraints.features:
        if c.name not in frame.columns:
            violations.append(
                _v(
                    "missing_column_check",
                    c.name,
                    f"There are missing columns in the current dataset: {c.name!r} is in the baseline but not in "
                    f"the captured data ({len(frame.columns)} columns read, {len(known)} expected).",
                    baseline_value=float(len(known)),
                    observed_value=float(len(frame.columns)),
                )
            )
            continue
        series = frame[c.name]
        for found in (
            _type_check(c, series, config, unparsable.get(c.name, 0)),
            _completeness(c, series, config),
            _domain(c, series, config),
            _range(c, series, config),
        ):
            if found is not None:
                violations.append(found)
        base = statistics.feature(c.name)
        if base is not None:
            drift = _drift(c, base, series, config)
            if drift is not None:
                violations.append(drift)
    extra = [str(c) for c in frame.columns if c not in known]
    for name in extra:
        violations.append(
            _v(
                "extra_column_check",
                name,
                f"There are extra columns in the current dataset: {name!r} is not in the baseline "
                f"({len(frame.columns)} columns read, {len(known)} expected).",
                baseline_value=float(len(known)),
                observed_value=float(len(frame.columns)),
            )
        )
    return violations, window_stats
