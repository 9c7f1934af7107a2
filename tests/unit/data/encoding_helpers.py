"""Encodings in the order `mlops sample-data` used before issue 13: one-hot categories in declared order."""

from __future__ import annotations

from mlops.core.datasets import FeatureEncoding
from mlops.data.churn_sample import CATEGORICAL


def declared_order(encoding: FeatureEncoding) -> FeatureEncoding:
    """The same features with each one-hot column's categories in churn_sample's declared order."""
    features = list(encoding.Features)
    for column, categories in CATEGORICAL.items():
        at = [i for i, f in enumerate(features) if f.Column == column]
        by_category = {features[i].Category: features[i] for i in at}
        for i, category in zip(at, categories, strict=True):
            features[i] = by_category[category]
    return encoding.model_copy(update={"Features": tuple(features)})
