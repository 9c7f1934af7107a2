"""UpdateEndpoint keeps an endpoint's request shape: a target model that reads other feature columns
than the serving one is refused before any traffic moves (issue 13)."""

from __future__ import annotations

import pytest

from mlops.core.clock import utcnow
from mlops.core.errors import ValidationError
from mlops.core.hosting import ContainerDefinition, Model
from mlops.hosting.controller import _refuse_new_feature_columns
from tests.unit.core.test_encodings import DECLARED, SORTED


def _model(name: str, encoding=None) -> Model:  # type: ignore[no-untyped-def]
    container = ContainerDefinition(AlgorithmName="xgboost", ModelDataUrl="/m.tar.gz")
    return Model(
        ModelName=name,
        ModelArn=f"arn:{name}",
        PrimaryContainer=container,
        CreationTime=utcnow(),
        FeatureEncoding=encoding,
    )


def test_an_update_to_other_feature_columns_is_refused_naming_the_feature() -> None:
    with pytest.raises(ValidationError) as e:
        _refuse_new_feature_columns(
            "churn", {"churn-v1": _model("churn-v1", SORTED)}, {"churn-v2": _model("churn-v2", DECLARED)}
        )
    assert e.value.field == "EndpointConfigName"
    assert e.value.message.startswith(
        "feature 2 is 'payment=electronic-check' in model churn-v2's encoding but 'payment=bank-transfer' in "
        "model churn-v1's encoding (serving endpoint churn now)"
    )


@pytest.mark.parametrize(
    ("serving", "target"),
    [(SORTED, SORTED), (None, DECLARED), (SORTED, None), (None, None)],
)
def test_the_same_columns_or_an_unknown_encoding_pass(serving, target) -> None:  # type: ignore[no-untyped-def]
    _refuse_new_feature_columns("churn", {"a": _model("a", serving)}, {"b": _model("b", target)})
