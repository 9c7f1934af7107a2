"""Comparing feature encodings: the first place two encodings disagree, said as a user can act on it.

A model only means something on the columns it was trained on. Two encodings with the same number of
features but another order (the same one-hot categories sorted differently) give no error anywhere else,
so every boundary that joins data and a model (training channels, evaluation, monitoring baselines and
windows, hosting a model) compares the encodings here and refuses naming the first differing feature.
"""

from __future__ import annotations

from mlops.core.datasets import FeatureEncoding
from mlops.core.errors import ValidationError


def first_difference(left: FeatureEncoding, right: FeatureEncoding, left_name: str, right_name: str) -> str | None:
    """None when both encode the same matrix; else the first difference, features first (1-based, the
    label not counted), then the label column, the problem type and the classes."""
    for number, (a, b) in enumerate(zip(left.Features, right.Features, strict=False), start=1):
        if a == b:
            continue
        if a.Name != b.Name:
            return f"feature {number} is {a.Name!r} in {left_name} but {b.Name!r} in {right_name}"
        return (
            f"feature {number} ({a.Name!r}) is {a.Kind.value} of column {a.Column!r} in {left_name} "
            f"but {b.Kind.value} of column {b.Column!r} in {right_name}"
        )
    if len(left.Features) != len(right.Features):
        number = min(len(left.Features), len(right.Features)) + 1
        left_longer = len(left.Features) > len(right.Features)
        longer, name, other = (left, left_name, right_name) if left_longer else (right, right_name, left_name)
        return (
            f"{left_name} has {len(left.Features)} features but {right_name} has {len(right.Features)}; "
            f"feature {number} is {longer.Features[number - 1].Name!r} in {name} and absent in {other}"
        )
    if left.LabelColumn != right.LabelColumn:
        return f"the label is column {left.LabelColumn!r} in {left_name} but {right.LabelColumn!r} in {right_name}"
    if left.ProblemType is not right.ProblemType:
        return f"the problem is {left.ProblemType.value} in {left_name} but {right.ProblemType.value} in {right_name}"
    if left.Classes != right.Classes:
        return (
            f"the classes are {', '.join(left.Classes) or 'none'} in {left_name} "
            f"but {', '.join(right.Classes) or 'none'} in {right_name}"
        )
    return None


def require_same_encoding(
    field: str, left: FeatureEncoding | None, right: FeatureEncoding | None, left_name: str, right_name: str
) -> None:
    """Refuse (``ValidationError`` on ``field``) when both encodings are known and differ. An unknown
    encoding (an older record, a user's own file) is accepted: there is nothing to compare."""
    if left is None or right is None:
        return
    difference = first_difference(left, right, left_name, right_name)
    if difference is not None:
        raise ValidationError(
            field, f"{difference}: the data and the model disagree on what the feature columns mean"
        )
