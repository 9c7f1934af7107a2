from __future__ import annotations

from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.algorithm import validate_channels, validate_hyperparameters
from mlops.core.errors import NotFoundError, ValidationError

ALGORITHMS = Path(__file__).resolve().parents[3] / "algorithms"


@pytest.fixture(scope="module")
def xgboost_spec():  # type: ignore[no-untyped-def]
    return AlgorithmCatalog(ALGORITHMS).get("xgboost")


def test_every_bundled_spec_loads() -> None:
    catalog = AlgorithmCatalog(ALGORITHMS)
    assert "xgboost" in catalog.names()
    for name in catalog.names():
        spec = catalog.get(name)
        assert spec.TrainingSpecification.MetricDefinitions, name
        assert spec.InferenceSpecification.SupportedContentTypes, name


def test_valid_hyperparameters_pass_unchanged(xgboost_spec) -> None:  # type: ignore[no-untyped-def]
    given = {"num_round": "10", "eta": "0.2", "objective": "binary:logistic", "max_depth": "5"}
    assert validate_hyperparameters(xgboost_spec, given) == given


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        (
            {"num_round": "10", "etta": "0.1"},
            "hyperparameter etta: unknown to algorithm 'xgboost'; did you mean 'eta'?",
        ),
        ({"num_round": "ten"}, "hyperparameter num_round: 'ten' is not an integer; valid: an integer in [1, 100000]"),
        ({"num_round": "10", "eta": "1.5"}, "hyperparameter eta: 1.5 is out of range; valid: a number in [0, 1]"),
        ({"num_round": "10", "eta": "nan"}, "hyperparameter eta: NaN is not allowed"),
        ({"num_round": "10", "objective": "binary:magic"}, "hyperparameter objective: 'binary:magic' is not allowed"),
        ({"eta": "0.1"}, "hyperparameter num_round: is required"),
    ],
)
def test_bad_hyperparameters_name_the_parameter_and_range(xgboost_spec, given, needle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as info:
        validate_hyperparameters(xgboost_spec, given)
    assert needle in str(info.value)


def test_channels_checked(xgboost_spec) -> None:  # type: ignore[no-untyped-def]
    validate_channels(xgboost_spec, {"train": "text/csv", "validation": "text/csv"})
    with pytest.raises(ValidationError, match="channel train: is required"):
        validate_channels(xgboost_spec, {"validation": "text/csv"})
    with pytest.raises(ValidationError, match="channel test: unknown"):
        validate_channels(xgboost_spec, {"train": "text/csv", "test": "text/csv"})
    with pytest.raises(ValidationError, match="content type 'image/png' not supported"):
        validate_channels(xgboost_spec, {"train": "image/png"})


def test_unknown_algorithm_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match="Known algorithms: .*xgboost"):
        AlgorithmCatalog(ALGORITHMS).get("catboost")


def test_a_spec_describes_the_answers_of_only_the_types_it_supports() -> None:
    import json

    from pydantic import ValidationError as PydanticValidationError

    from mlops.core.algorithm import AlgorithmSpec

    raw = json.loads((ALGORITHMS / "xgboost" / "algorithm.json").read_text())
    assert AlgorithmSpec.model_validate(raw).InferenceSpecification.ResponseFormats
    raw["InferenceSpecification"]["ResponseFormats"].append(
        {"MIMEType": "application/x-npy", "Answer": "a numpy array", "Fields": ["score"]}
    )
    with pytest.raises(PydanticValidationError, match="application/x-npy.*not in SupportedResponseMIMETypes"):
        AlgorithmSpec.model_validate(raw)
    raw["InferenceSpecification"]["ResponseFormats"].pop()
    raw["InferenceSpecification"]["DefaultResponseMIMEType"] = "text/html"
    with pytest.raises(PydanticValidationError, match="text/html"):
        AlgorithmSpec.model_validate(raw)
