"""Per-feature statistics and suggested constraints, in Model Monitor's ``statistics.json`` /
``constraints.json`` shapes (what its ``suggest_baseline`` writes), computed from the monitored view of a
table. The same statistics are computed for every window, so the two files can be compared by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mlops.core.monitoring_files import (
    CategoricalBucket,
    CategoricalDistribution,
    CommonStatistics,
    DatasetConstraints,
    DatasetStatistics,
    DatasetSummary,
    FeatureConstraints,
    FeatureStatistics,
    InferredType,
    KllBucket,
    KllDistribution,
    MonitoringConfig,
    NumConstraints,
    NumericalDistribution,
    NumericalStatistics,
    StringConstraints,
    StringDistribution,
    StringStatistics,
)

BUCKETS = 10
PERCENTILES = np.linspace(0.0, 1.0, 101)
COMPLETENESS_SLACK = 0.02  # a suggested completeness sits this far below the baseline's (unless it is 1)


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def is_categorical(series: pd.Series) -> bool:
    return (
        isinstance(series.dtype, pd.CategoricalDtype)
        or series.dtype == object
        or pd.api.types.is_string_dtype(series.dtype)
    )


def infer_type(series: pd.Series) -> InferredType:
    present = series.dropna()
    if present.empty:
        return InferredType.Unknown
    if is_categorical(series):
        return InferredType.String
    values = present.to_numpy(dtype=np.float64)
    return InferredType.Integral if bool(np.all(np.mod(values, 1) == 0)) else InferredType.Fractional


def _numerical(series: pd.Series) -> NumericalStatistics:
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    present = values[~np.isnan(values)]
    common = CommonStatistics(num_present=int(present.size), num_missing=int(values.size - present.size))
    if present.size == 0:
        return NumericalStatistics(common=common, mean=0.0, sum=0.0, std_dev=0.0, min=0.0, max=0.0)
    low, high = float(present.min()), float(present.max())
    edges = np.linspace(low, high, BUCKETS + 1) if high > low else np.array([low, high])
    counts, _ = np.histogram(present, bins=edges)
    buckets = tuple(
        KllBucket(lower_bound=float(edges[i]), upper_bound=float(edges[i + 1]), count=float(c))
        for i, c in enumerate(counts)
    )
    quantiles = tuple(float(q) for q in np.quantile(present, PERCENTILES, method="inverted_cdf"))
    return NumericalStatistics(
        common=common,
        mean=_finite(present.mean()),
        sum=_finite(present.sum()),
        std_dev=_finite(present.std()),
        min=low,
        max=high,
        distribution=NumericalDistribution(kll=KllDistribution(buckets=buckets), quantiles=quantiles),
    )


def _string(series: pd.Series) -> StringStatistics:
    present = series.dropna()
    counts = (
        present.astype(str).value_counts()
        if not isinstance(series.dtype, pd.CategoricalDtype)
        else (present.value_counts())
    )
    counts = counts[counts > 0]
    buckets = tuple(CategoricalBucket(value=str(v), count=float(c)) for v, c in counts.sort_index().items())
    return StringStatistics(
        common=CommonStatistics(num_present=int(present.size), num_missing=int(series.size - present.size)),
        distinct_count=float(len(buckets)),
        distribution=StringDistribution(categorical=CategoricalDistribution(buckets=buckets)),
    )


def feature_statistics(name: str, series: pd.Series) -> FeatureStatistics:
    kind = infer_type(series)
    if kind is InferredType.String:
        return FeatureStatistics(name=name, inferred_type=kind, string_statistics=_string(series))
    if kind is InferredType.Unknown and is_categorical(series):
        return FeatureStatistics(name=name, inferred_type=kind, string_statistics=_string(series))
    return FeatureStatistics(name=name, inferred_type=kind, numerical_statistics=_numerical(series))


def dataset_statistics(frame: pd.DataFrame) -> DatasetStatistics:
    return DatasetStatistics(
        dataset=DatasetSummary(item_count=len(frame)),
        features=tuple(feature_statistics(str(c), frame[c]) for c in frame.columns),
    )


def suggest_constraints(statistics: DatasetStatistics, config: MonitoringConfig | None = None) -> DatasetConstraints:
    """Model Monitor's suggestions: the inferred type, completeness (a little below the baseline's when it
    is not 1), non-negativity and (ours) the range of numbers, the domain of strings."""
    features = []
    for f in statistics.features:
        common = f.common
        total = (common.num_present + common.num_missing) if common else 0
        completeness = (common.num_present / total) if common and total else 1.0
        if completeness < 1.0:
            completeness = max(0.0, math.floor((completeness - COMPLETENESS_SLACK) * 10_000) / 10_000)
        num = None
        strings = None
        if f.numerical_statistics is not None:
            s = f.numerical_statistics
            num = NumConstraints(is_non_negative=s.min >= 0, min=s.min, max=s.max)
        if f.string_statistics is not None:
            domain = tuple(b.value for b in f.string_statistics.distribution.categorical.buckets)
            strings = StringConstraints(domains=domain)
        features.append(
            FeatureConstraints(
                name=f.name,
                inferred_type=f.inferred_type,
                completeness=completeness,
                num_constraints=num,
                string_constraints=strings,
            )
        )
    return DatasetConstraints(features=tuple(features), monitoring_config=config or MonitoringConfig())


def baseline_cdf(quantiles: tuple[float, ...], points: np.ndarray) -> np.ndarray:
    """P(X <= x) of the baseline, from its percentiles (exact to within one percentile)."""
    q = np.asarray(quantiles, dtype=np.float64)
    p = np.linspace(0.0, 1.0, q.size)
    unique, last = np.unique(q[::-1], return_index=True)
    highest_p = p[::-1][last]  # for tied values (a discrete feature) the highest percentile holding them
    return np.asarray(np.interp(points, unique, highest_p, left=0.0, right=1.0))


def ks_distance(quantiles: tuple[float, ...], values: np.ndarray) -> float:
    """The largest gap between the window's distribution function and the baseline's."""
    present = np.sort(values[~np.isnan(values)])
    if present.size == 0 or not quantiles:
        return 0.0
    points = np.unique(np.concatenate([present, np.asarray(quantiles)]))
    window = np.searchsorted(present, points, side="right") / present.size
    return float(np.max(np.abs(window - baseline_cdf(quantiles, points))))
