"""Model Monitor's and Clarify's file shapes: ``statistics.json``, ``constraints.json``, the model-quality
statistics and constraints, and Clarify's ``analysis.json`` (bias and feature attribution). They keep
their snake_case keys, so a user's files and knowledge carry over; unknown keys are refused, because a
user may edit them by hand. The API records (schedules, runs, violations) are in ``core/monitoring.py``.
No I/O here: computing and storing live in ``mlops.monitoring``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mlops.core.thresholds import ComparisonOperator


class _File(BaseModel):
    """A file a user may edit by hand: unknown keys are refused (a typo must not silently do nothing)."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")


# --- statistics.json (Model Monitor's shape) -------------------------------------------------------


class InferredType(StrEnum):
    Integral = "Integral"
    Fractional = "Fractional"
    String = "String"
    Unknown = "Unknown"

    @property
    def numeric(self) -> bool:
        return self in (InferredType.Integral, InferredType.Fractional)


InferredTypeT = InferredType


class CommonStatistics(_File):
    num_present: int
    num_missing: int


class KllBucket(_File):
    lower_bound: float
    upper_bound: float
    count: float


class KllDistribution(_File):
    buckets: tuple[KllBucket, ...] = ()


class NumericalDistribution(_File):
    kll: KllDistribution = Field(default_factory=KllDistribution)
    # Ours: the values at the 0th, 1st, …, 100th percentile, from which baseline_drift_check draws the
    # baseline's distribution function (Model Monitor keeps a KLL sketch for the same purpose).
    quantiles: tuple[float, ...] = ()


class NumericalStatistics(_File):
    common: CommonStatistics
    mean: float
    sum: float
    std_dev: float
    min: float
    max: float
    distribution: NumericalDistribution = Field(default_factory=NumericalDistribution)


class CategoricalBucket(_File):
    value: str
    count: float


class CategoricalDistribution(_File):
    buckets: tuple[CategoricalBucket, ...] = ()


class StringDistribution(_File):
    categorical: CategoricalDistribution = Field(default_factory=CategoricalDistribution)


class StringStatistics(_File):
    common: CommonStatistics
    distinct_count: float
    distribution: StringDistribution = Field(default_factory=StringDistribution)


class FeatureStatistics(_File):
    name: str
    inferred_type: InferredTypeT
    numerical_statistics: NumericalStatistics | None = None
    string_statistics: StringStatistics | None = None

    @property
    def common(self) -> CommonStatistics | None:
        stats = self.numerical_statistics or self.string_statistics
        return stats.common if stats else None


class DatasetSummary(_File):
    item_count: int


class DatasetStatistics(_File):
    version: float = 0.0
    dataset: DatasetSummary
    features: tuple[FeatureStatistics, ...]

    def feature(self, name: str) -> FeatureStatistics | None:
        return next((f for f in self.features if f.name == name), None)


# --- constraints.json (Model Monitor's shape) ------------------------------------------------------


class NumConstraints(_File):
    is_non_negative: bool = False
    # Ours: the baseline's range; range_check flags a window whose share of values outside it exceeds
    # monitoring_config.range_check_threshold.
    min: float | None = None
    max: float | None = None


class StringConstraints(_File):
    domains: tuple[str, ...] = ()


class FeatureConstraints(_File):
    name: str
    inferred_type: InferredTypeT
    completeness: float = Field(default=1.0, ge=0, le=1)
    num_constraints: NumConstraints | None = None
    string_constraints: StringConstraints | None = None
    monitoringConfigOverrides: dict[str, float] = Field(default_factory=dict)  # Model Monitor's key


class Switch(StrEnum):
    Enabled = "Enabled"
    Disabled = "Disabled"


class ComparisonMethod(StrEnum):
    Robust = "Robust"  # the distance must exceed the threshold and be significant at 99% (two-sample KS)
    Simple = "Simple"  # the distance must exceed the threshold


class CategoricalDriftMethod(StrEnum):
    LInfinity = "LInfinity"


class DistributionConstraints(_File):
    perform_comparison: Switch = Switch.Enabled
    comparison_threshold: float = Field(default=0.1, ge=0, le=1)
    comparison_method: ComparisonMethod = ComparisonMethod.Robust
    categorical_comparison_threshold: float = Field(default=0.1, ge=0, le=1)
    categorical_drift_method: CategoricalDriftMethod = CategoricalDriftMethod.LInfinity


DistributionConstraintsT = DistributionConstraints


class MonitoringConfig(_File):
    evaluate_constraints: Switch = Switch.Enabled
    emit_metrics: Switch = Switch.Enabled
    # The share of present values that must have the baseline's type / lie in the baseline's domain.
    datatype_check_threshold: float = Field(default=1.0, ge=0, le=1)
    domain_content_threshold: float = Field(default=1.0, ge=0, le=1)
    distribution_constraints: DistributionConstraintsT = Field(default_factory=DistributionConstraintsT)
    range_check_threshold: float = Field(default=0.01, ge=0, le=1)  # ours


MonitoringConfigT = MonitoringConfig


class DatasetConstraints(_File):
    version: float = 0.0
    features: tuple[FeatureConstraints, ...]
    monitoring_config: MonitoringConfigT = Field(default_factory=MonitoringConfigT)

    def feature(self, name: str) -> FeatureConstraints | None:
        return next((f for f in self.features if f.name == name), None)


# --- model quality (Model Monitor's shape) ---------------------------------------------------------


class MetricValue(_File):
    value: float
    standard_deviation: float | None = None


class MetricConstraint(_File):
    threshold: float
    comparison_operator: ComparisonOperator


class ModelQualityDataset(_File):
    item_count: int


class ModelQualityStatistics(_File):
    version: float = 0.0
    dataset: ModelQualityDataset
    binary_classification_metrics: dict[str, MetricValue] | None = None
    multiclass_classification_metrics: dict[str, MetricValue] | None = None
    regression_metrics: dict[str, MetricValue] | None = None

    @property
    def metrics(self) -> dict[str, MetricValue]:
        return (
            self.binary_classification_metrics
            or self.multiclass_classification_metrics
            or self.regression_metrics
            or {}
        )


class ModelQualityConstraints(_File):
    version: float = 0.0
    binary_classification_constraints: dict[str, MetricConstraint] | None = None
    multiclass_classification_constraints: dict[str, MetricConstraint] | None = None
    regression_constraints: dict[str, MetricConstraint] | None = None

    @property
    def constraints(self) -> dict[str, MetricConstraint]:
        return (
            self.binary_classification_constraints
            or self.multiclass_classification_constraints
            or self.regression_constraints
            or {}
        )


# --- bias (Clarify's analysis.json shape) ----------------------------------------------------------


class BiasMetric(_File):
    name: str
    description: str = ""
    value: float | None  # None: undefined for this data (e.g. an empty facet)
    # Ours: the bootstrap standard error of the value (the baseline's own sampling noise).
    standard_error: float | None = None
    # Ours: how much worse than the baseline (farther from fair) a window may be before it is a violation.
    # None: reported, never a violation.
    tolerance: float | None = None


class FacetBias(_File):
    value_or_threshold: str
    metrics: tuple[BiasMetric, ...]

    def metric(self, name: str) -> BiasMetric | None:
        return next((m for m in self.metrics if m.name == name), None)


class BiasMetricsSection(_File):
    label: str
    label_value_or_threshold: str
    facets: dict[str, tuple[FacetBias, ...]]


class BiasAnalysis(_File):
    version: str = "1.0"
    pre_training_bias_metrics: BiasMetricsSection | None = None
    post_training_bias_metrics: BiasMetricsSection | None = None


# --- feature attribution (Clarify's analysis.json shape) -------------------------------------------


class GlobalShapValues(_File):
    global_shap_values: dict[str, float]
    expected_value: float | None = None


class AttributionAnalysis(_File):
    """``explanations[method][label]``: method is ``tree_shap`` or ``permutation_shap`` (ours; Clarify
    writes ``kernel_shap``), label ``label0`` for a single output."""

    version: str = "1.0"
    explanations: dict[str, dict[str, GlobalShapValues]]

    def global_values(self) -> dict[str, float]:
        for labels in self.explanations.values():
            for values in labels.values():
                return dict(values.global_shap_values)
        return {}
