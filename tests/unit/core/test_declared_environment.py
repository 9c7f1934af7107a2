"""A job's or a model's declared Environment: loader variables are refused where the record is made,
so the CLI, the services and any API edge all refuse them the same way."""

from __future__ import annotations

import pytest

from mlops.core.errors import ValidationError
from mlops.core.hosting import ContainerDefinition
from mlops.core.training import AlgorithmSpecification, OutputDataConfig, TrainingJobRequest
from mlops.core.tuning_job import HyperParameterTrainingJobDefinition

LOADER_VARIABLES = [
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "DYLD_INSERT_LIBRARIES",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PYTHONINSPECT",
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_train%%",
    "ld_preload",
]


def _job(environment: dict[str, str]) -> TrainingJobRequest:
    return TrainingJobRequest(
        TrainingJobName="job",
        AlgorithmSpecification=AlgorithmSpecification(AlgorithmName="xgboost"),
        OutputDataConfig=OutputDataConfig(S3OutputPath="/tmp/artifacts"),
        Environment=environment,
    )


def _model(environment: dict[str, str]) -> ContainerDefinition:
    return ContainerDefinition(AlgorithmName="xgboost", ModelDataUrl="/tmp/model.tar.gz", Environment=environment)


def _tuning(environment: dict[str, str]) -> HyperParameterTrainingJobDefinition:
    return HyperParameterTrainingJobDefinition(
        AlgorithmSpecification=AlgorithmSpecification(AlgorithmName="xgboost"),
        InputDataConfig=(),
        OutputDataConfig=OutputDataConfig(S3OutputPath="/tmp/artifacts"),
        Environment=environment,
    )


@pytest.mark.parametrize("record", [_job, _model, _tuning])
@pytest.mark.parametrize("name", LOADER_VARIABLES)
def test_a_loader_variable_is_refused_naming_the_field_and_the_variable(record, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match=f"^Environment: {name} may not be set") as refused:
        record({"OMP_NUM_THREADS": "1", name: "/tmp/evil"})
    assert refused.value.field == "Environment"


@pytest.mark.parametrize("record", [_job, _model, _tuning])
def test_a_loader_variable_is_refused_from_json_too(record) -> None:  # type: ignore[no-untyped-def]
    """What an API edge or a stored request does: model_validate_json on the record type."""
    kind = type(record({}))
    good = record({"MY_SETTING": "1"}).model_dump_json()
    assert kind.model_validate_json(good) == record({"MY_SETTING": "1"})
    with pytest.raises(ValidationError, match="PYTHONPATH may not be set"):
        kind.model_validate_json(good.replace('"MY_SETTING"', '"PYTHONPATH"'))


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"1ST": "x"}, "'1ST' is not a valid variable name"),
        ({"A=B": "x"}, "'A=B' is not a valid variable name"),
        ({"": "x"}, "'' is not a valid variable name"),
        ({"GOOD": "a\x00b"}, "GOOD: the value holds a NUL byte"),
    ],
)
def test_names_no_process_could_get_are_refused(environment: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _job(environment)


def test_ordinary_settings_pass_unchanged() -> None:
    environment = {"OMP_NUM_THREADS": "2", "SAGEMAKER_PROGRAM": "train.py", "PATH": "/opt/program:/usr/bin", "_X": ""}
    assert _job(environment).Environment == environment
    assert _model(environment).Environment == environment
