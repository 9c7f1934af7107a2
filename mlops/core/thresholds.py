"""The one comparison of an observed value with a threshold: CloudWatch's ``ComparisonOperator`` (an
endpoint's rollback alarms) and Model Monitor's (a model-quality constraint), which share their names."""

from __future__ import annotations

from enum import StrEnum


class ComparisonOperator(StrEnum):
    LessThanThreshold = "LessThanThreshold"
    LessThanOrEqualToThreshold = "LessThanOrEqualToThreshold"
    GreaterThanThreshold = "GreaterThanThreshold"
    GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold"
    DeviationGreaterThanThreshold = "DeviationGreaterThanThreshold"  # ours: |observed - baseline| > threshold

    @property
    def needs_baseline(self) -> bool:
        """True for the operator that compares with a baseline value (no CloudWatch alarm has it)."""
        return self is ComparisonOperator.DeviationGreaterThanThreshold

    def breached(self, observed: float, threshold: float, baseline: float | None = None) -> bool:
        if self is ComparisonOperator.LessThanThreshold:
            return observed < threshold
        if self is ComparisonOperator.LessThanOrEqualToThreshold:
            return observed <= threshold
        if self is ComparisonOperator.GreaterThanThreshold:
            return observed > threshold
        if self is ComparisonOperator.GreaterThanOrEqualToThreshold:
            return observed >= threshold
        return baseline is not None and abs(observed - baseline) > threshold
