"""The data-quality monitor: a window's statistics against the baseline's constraints, with Model Monitor's
violation names (data_type_check, completeness_check, baseline_drift_check, missing_column_check,
extra_column_check, categorical_values_check) and one of ours (range_check).

The checks that count (completeness, range, domain, baseline drift) judge a window of n rows against the
sampling noise of n rows, so unchanged data is flagged at most ``FalseAlarmRate`` (alpha) of the time for the
whole window: each of the k checks run is held at alpha / k (Bonferroni), and a violation needs both the
constraint broken and the observed value beyond what chance gives at that level (``noise_band``):

- completeness, range and domain count the window's rows that miss, fall outside the baseline's range or
  outside its domain; a clean window's count is beta-binomial (the baseline of m rows saw j of them:
  Beta(j + 1, m - j + 1) for missing values, Beta(2, m - 1) for values beyond the extremes of m values,
  Beta(N1 + 1, m - N1) for categories, N1 the categories seen once: Good-Turing's unseen mass);
- baseline drift: the Kolmogorov-Smirnov distance beyond c(alpha / k) * sqrt((n + m) / (n m)) plus the
  percentile resolution of the baseline's distribution (Robust), or each category's share beyond
  z * sqrt(p (1 - p) (1 / n + 1 / m)).

Numbers are compared in float32, the precision the platform's encoded rows are written in (0.660000026
in a CSV is 0.66). Types and columns are exact checks: chance does not change them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlops.core.monitoring import MonitoringType, Violation
from mlops.core.monitoring_files import (
    ComparisonMethod,
    DatasetConstraints,
    DatasetStatistics,
    FeatureConstraints,
    FeatureStatistics,
    InferredType,
    MonitoringConfig,
    Switch,
)
from mlops.monitoring.constraints import baseline_cdf, dataset_statistics, is_categorical

KIND = MonitoringType.DataQuality
MIN_ROWS = 20  # fewer window rows and the monitor says the window is too small to judge
DEFAULT_FALSE_ALARM_RATE = 0.01
PERCENTILE_RESOLUTION = 0.01  # the baseline keeps its distribution as 101 percentiles
CHECKS_PER_FEATURE = 3  # completeness, range or domain, baseline drift


def _v(
    check: str,
    feature: str,
    description: str,
    baseline_value: float | str | None = None,
    observed_value: float | str | None = None,
    threshold: float | str | None = None,
    noise_band: float | None = None,
    rows: int | None = None,
) -> Violation:
    return Violation(
        monitoring_type=KIND,
        constraint_check_type=check,
        feature_name=feature,
        description=description,
        baseline_value=baseline_value,
        observed_value=observed_value,
        threshold=threshold,
        noise_band=noise_band,
        window_rows=rows,
    )


def _setting(c: FeatureConstraints, config: MonitoringConfig, name: str, default: float) -> float:
    return float(c.monitoringConfigOverrides.get(name, default))


def _percent(x: float) -> str:
    return f"{100 * x:.2f}%"


def beyond_chance(count: int, n: int, a: float, b: float, alpha: float) -> tuple[bool, float]:
    """Whether ``count`` of ``n`` rows is more than a clean window shows at level ``alpha``, when a clean
    window's share is Beta(a, b) (given the baseline); and the share a clean window stays under (the
    (1 - alpha) quantile of the beta-binomial count, over n)."""
    from scipy.stats import betabinom

    dist = betabinom(n, a, b)
    p_value = float(dist.sf(count - 1)) if count > 0 else 1.0
    return p_value < alpha, float(dist.ppf(1 - alpha)) / n


def _f32(x: float) -> float:
    return float(np.float32(x))


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
            f"Data type match requirement is not met. Expected data type: {c.inferred_type.value}, "
            f"expected match: {_percent(threshold)}. Observed: only {_percent(share)} of data is "
            f"{c.inferred_type.value}.",
            baseline_value=1.0,
            observed_value=share,
            threshold=threshold,
            rows=total,
        )
    return None


def _completeness(
    c: FeatureConstraints, base: FeatureStatistics | None, series: pd.Series, config: MonitoringConfig, alpha: float
) -> Violation | None:
    n = int(series.size)
    if n == 0:
        return None
    missing = int(series.isna().sum())
    observed = 1.0 - missing / n
    required = _setting(c, config, "completeness", c.completeness)
    if observed >= required:
        return None
    common = base.common if base is not None else None
    seen_missing, seen = (common.num_missing, common.num_present + common.num_missing) if common else (0, 0)
    beyond, band = beyond_chance(missing, n, seen_missing + 1.0, seen - seen_missing + 1.0, alpha)
    if not beyond:
        return None
    baseline_missing = seen_missing / seen if seen else 1.0 - c.completeness
    return _v(
        "completeness_check",
        c.name,
        f"Data completeness requirement is not met. Expected completeness: {_percent(required)}, "
        f"observed: {_percent(observed)} of {n} rows (a window like the baseline's stays above "
        f"{_percent(1 - band)} at this size).",
        baseline_value=1.0 - baseline_missing,
        observed_value=observed,
        threshold=required,
        noise_band=max(band - baseline_missing, 0.0),
        rows=n,
    )


def _domain(
    c: FeatureConstraints, base: FeatureStatistics | None, series: pd.Series, config: MonitoringConfig, alpha: float
) -> Violation | None:
    if c.string_constraints is None or not c.string_constraints.domains:
        return None
    present = series.dropna()
    if present.empty:
        return None
    counts = present.astype(str).value_counts()
    inside_count = int(counts[counts.index.isin(c.string_constraints.domains)].sum())
    n = int(present.size)
    inside = inside_count / n
    threshold = _setting(c, config, "domain_content_threshold", config.domain_content_threshold)
    if inside >= threshold:
        return None
    buckets = base.string_statistics.distribution.categorical.buckets if base and base.string_statistics else ()
    m = int(sum(b.count for b in buckets))
    once = sum(1 for b in buckets if b.count == 1)
    beyond, band = beyond_chance(n - inside_count, n, once + 1.0, max(m - once, 1.0), alpha)
    if not beyond:
        return None
    unknown = [str(v) for v in counts.index if v not in c.string_constraints.domains][:5]
    return _v(
        "categorical_values_check",
        c.name,
        f"Data domain requirement is not met: {_percent(inside)} of {n} values are in the baseline's "
        f"domain, {_percent(threshold)} required (a window like the baseline's stays above {_percent(1 - band)} at "
        f"this size); values outside it: {', '.join(unknown)}",
        baseline_value=1.0,
        observed_value=inside,
        threshold=threshold,
        noise_band=band,
        rows=n,
    )


def _range(
    c: FeatureConstraints, base: FeatureStatistics | None, series: pd.Series, config: MonitoringConfig, alpha: float
) -> Violation | None:
    num = c.num_constraints
    if num is None or is_categorical(series):
        return None
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    low = num.min if num.min is not None else (0.0 if num.is_non_negative else -math.inf)
    high = num.max if num.max is not None else math.inf
    compared = values.astype(np.float32)  # the precision the encoded rows are written in
    outside_count = int(np.sum((compared < np.float32(low)) | (compared > np.float32(high))))
    n = int(values.size)
    outside = outside_count / n
    threshold = _setting(c, config, "range_check_threshold", config.range_check_threshold)
    if outside <= threshold:
        return None
    m = base.numerical_statistics.common.num_present if base and base.numerical_statistics else 0
    beyond, band = beyond_chance(outside_count, n, 2.0, max(m - 1.0, 1.0), alpha)
    if not beyond:
        return None
    return _v(
        "range_check",
        c.name,
        f"{_percent(outside)} of {n} values lie outside the baseline's range [{_f32(low):g}, "
        f"{_f32(high):g}] (observed [{values.min():g}, {values.max():g}]); at most {_percent(threshold)} allowed, "
        f"and a window like the baseline's stays under {_percent(band)} at this size.",
        baseline_value=0.0,
        observed_value=outside,
        threshold=threshold,
        noise_band=band,
        rows=n,
    )


def ks_noise(n: int, m: int, alpha: float) -> float:
    """The two-sample Kolmogorov-Smirnov distance chance stays under at level ``alpha`` (asymptotic,
    conservative for discrete features), plus the baseline's percentile resolution."""
    if n <= 0 or m <= 0:
        return math.inf
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m)) + PERCENTILE_RESOLUTION


def _largest_gap(quantiles: tuple[float, ...], values: np.ndarray) -> tuple[float, float, float, float]:
    """(distance, point, baseline P(X <= point), window P(X <= point)) of the largest gap."""
    present = np.sort(values[~np.isnan(values)])
    points = np.unique(np.concatenate([present, np.asarray(quantiles)]))
    window = np.searchsorted(present, points, side="right") / present.size
    base = baseline_cdf(quantiles, points)
    i = int(np.argmax(np.abs(window - base)))
    return float(abs(window[i] - base[i])), float(points[i]), float(base[i]), float(window[i])


def _drift(
    c: FeatureConstraints, base: FeatureStatistics, series: pd.Series, config: MonitoringConfig, alpha: float
) -> Violation | None:
    from scipy.stats import norm

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
        keys = sorted(set(expected) | set(observed))
        threshold = _setting(c, config, "categorical_comparison_threshold", dist.categorical_comparison_threshold)
        z = float(norm.isf(alpha / (2 * len(keys))))
        flagged: list[tuple[float, str, float]] = []
        for k in keys:
            p = expected.get(k, 0.0)
            gap = abs(observed.get(k, 0.0) - p)
            spread = max(p * (1 - p), 1.0 / total)  # a share the baseline never saw: at least 1 in m
            noise = z * math.sqrt(spread / n + spread / total)
            if gap > threshold and (not robust or gap > noise):
                flagged.append((gap, k, noise))
        if not flagged:
            return None
        gap, worst, noise = max(flagged)
        return _v(
            "baseline_drift_check",
            c.name,
            f"Baseline drift distance {gap:.4f} exceeds threshold {threshold:g} (LInfinity; the share of "
            f"{worst!r} moved from {expected.get(worst, 0.0):.3f} to {observed.get(worst, 0.0):.3f} in {n} rows; "
            f"chance moves it at most {noise:.3f} at this size)",
            baseline_value=expected.get(worst, 0.0),
            observed_value=observed.get(worst, 0.0),
            threshold=threshold,
            noise_band=noise if robust else None,
            rows=n,
        )
    stats = base.numerical_statistics
    if stats is None or not stats.distribution.quantiles or is_categorical(series):
        return None
    values = series.to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32).astype(np.float64)
    quantiles = tuple(_f32(q) for q in stats.distribution.quantiles)
    distance, point, base_share, window_share = _largest_gap(quantiles, values)
    threshold = _setting(c, config, "comparison_threshold", dist.comparison_threshold)
    noise = ks_noise(n, stats.common.num_present, alpha)
    if distance > threshold and (not robust or distance > noise):
        return _v(
            "baseline_drift_check",
            c.name,
            f"Baseline drift distance {distance:.4f} exceeds threshold {threshold:g} (the largest gap "
            f"between the distribution functions, at {point:g}: P(X <= {point:g}) is {base_share:.3f} in the "
            f"baseline, {window_share:.3f} in {n} window rows; chance stays under {noise:.3f} at this size; "
            f"baseline mean {stats.mean:g}, window mean {float(np.nanmean(values)):g})",
            baseline_value=base_share,
            observed_value=window_share,
            threshold=threshold,
            noise_band=noise if robust else None,
            rows=n,
        )
    return None


def check(
    frame: pd.DataFrame,
    statistics: DatasetStatistics,
    constraints: DatasetConstraints,
    unparsable: dict[str, int] | None = None,
    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE,
) -> tuple[list[Violation], DatasetStatistics]:
    """The violations of ``frame`` (a window, monitored view) and its own statistics; the window is flagged
    by chance at most ``false_alarm_rate`` of the time over all its checks."""
    config = constraints.monitoring_config
    alpha = false_alarm_rate / max(CHECKS_PER_FEATURE * len(constraints.features), 1)
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
        base = statistics.feature(c.name)
        for found in (
            _type_check(c, series, config, unparsable.get(c.name, 0)),
            _completeness(c, base, series, config, alpha),
            _domain(c, base, series, config, alpha),
            _range(c, base, series, config, alpha),
        ):
            if found is not None:
                violations.append(found)
        if base is not None:
            drift = _drift(c, base, series, config, alpha)
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
