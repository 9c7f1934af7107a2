"""first_difference names the first feature where two encodings disagree (issue 13)."""

from __future__ import annotations

import pytest

from mlops.core.datasets import EncodedFeature, FeatureEncoding, FeatureKind, ProblemType
from mlops.core.encodings import first_difference, require_same_encoding
from mlops.core.errors import ValidationError


def _encoding(*names: str, label: str = "churn", classes: tuple[str, ...] = ("0", "1")) -> FeatureEncoding:
    features = []
    for name in names:
        column, _, category = name.partition("=")
        kind = FeatureKind.OneHot if category else FeatureKind.Numeric
        features.append(EncodedFeature(Name=name, Column=column, Kind=kind, Category=category or None))
    return FeatureEncoding(
        LabelColumn=label, ProblemType=ProblemType.BinaryClassification, Classes=classes, Features=tuple(features)
    )


SORTED = _encoding("age", "payment=bank-transfer", "payment=credit-card", "payment=electronic-check")
DECLARED = _encoding("age", "payment=electronic-check", "payment=bank-transfer", "payment=credit-card")


def test_same_encoding_has_no_difference() -> None:
    assert first_difference(SORTED, SORTED.model_copy(), "the data", "the model") is None
    assert SORTED.sha256 == SORTED.model_copy().sha256 != DECLARED.sha256


def test_the_first_differing_feature_is_named_one_based() -> None:
    assert first_difference(SORTED, DECLARED, "the data", "model churn-v1's encoding") == (
        "feature 2 is 'payment=bank-transfer' in the data but 'payment=electronic-check' in model churn-v1's encoding"
    )


def test_a_missing_feature_is_named() -> None:
    shorter = _encoding("age", "payment=bank-transfer", "payment=credit-card")
    assert first_difference(shorter, SORTED, "the data", "the model") == (
        "the data has 3 features but the model has 4; feature 4 is 'payment=electronic-check' in the model "
        "and absent in the data"
    )


def test_the_same_name_of_another_kind_is_named() -> None:
    other = SORTED.model_copy(
        update={"Features": (EncodedFeature(Name="age", Column="age", Kind=FeatureKind.Date), *SORTED.Features[1:])}
    )
    assert first_difference(SORTED, other, "a", "b") == (
        "feature 1 ('age') is Numeric of column 'age' in a but Date of column 'age' in b"
    )


@pytest.mark.parametrize(
    ("other", "said"),
    [
        (_encoding("age", "payment=bank-transfer", "payment=credit-card", "payment=electronic-check", label="y"),
         "the label is column 'churn' in a but 'y' in b"),
        (_encoding("age", "payment=bank-transfer", "payment=credit-card", "payment=electronic-check",
                   classes=("1", "0")), "the classes are 0, 1 in a but 1, 0 in b"),
    ],
)  # fmt: skip
def test_label_and_classes_are_compared_after_the_features(other: FeatureEncoding, said: str) -> None:
    assert first_difference(SORTED, other, "a", "b") == said
    assert SORTED.sha256 != other.sha256


def test_require_same_encoding_accepts_unknown_and_refuses_a_difference() -> None:
    require_same_encoding("test", None, SORTED, "the data", "the model")
    require_same_encoding("test", SORTED, None, "the data", "the model")
    with pytest.raises(ValidationError, match=r"^test: feature 2 is 'payment=bank-transfer' in the data"):
        require_same_encoding("test", SORTED, DECLARED, "the data", "the model")


def test_dropped_columns_do_not_change_the_digest() -> None:
    from mlops.core.datasets import DroppedColumn

    assert SORTED.model_copy(update={"Dropped": (DroppedColumn(Name="id", Reason="identifier"),)}).sha256 == (
        SORTED.sha256
    )
