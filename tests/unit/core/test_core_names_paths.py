"""Names that become paths: one rule per kind of name, matched whole, and one helper that keeps a path
inside its store's folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError as PydanticValidationError

from mlops.core.errors import ValidationError
from mlops.core.files import path_under
from mlops.core.hosting import CreateEndpointInput, EndpointConfig, Model
from mlops.core.ids import check_channel_name, check_name, check_record_id, check_tuning_job_name
from mlops.core.monitoring import MonitoringSchedule
from mlops.core.training import TrainingJobRequest


@pytest.mark.parametrize("check", [check_name, check_channel_name, check_record_id, check_tuning_job_name])
def test_a_trailing_newline_is_refused_by_every_rule(check) -> None:  # type: ignore[no-untyped-def]
    assert check("field", "churn") == "churn"
    with pytest.raises(ValidationError) as e:
        check("field", "churn\n")
    assert e.value.field == "field" and "'churn\\n'" in e.value.message


@pytest.mark.parametrize("bad", ["..", ".", "../x", "a/b", "/abs", "", ".hidden", "a\\b", "a\x00b"])
def test_no_rule_lets_a_path_through(bad: str) -> None:
    for check in (check_name, check_channel_name, check_record_id, check_tuning_job_name):
        with pytest.raises(ValidationError):
            check("field", bad)


def test_channel_and_tuning_rules() -> None:
    assert check_channel_name("ChannelName", "train_v2.1") == "train_v2.1"
    assert check_tuning_job_name("HyperParameterTuningJobName", "a" * 48)
    with pytest.raises(ValidationError, match="48"):
        check_tuning_job_name("HyperParameterTuningJobName", "a" * 49)


def _first_error(e: pytest.ExceptionInfo[PydanticValidationError]) -> tuple[str, str]:
    item = e.value.errors()[0]
    return ".".join(str(p) for p in item["loc"]), item["msg"]


def test_control_api_input_refuses_a_config_name_that_is_a_path() -> None:
    with pytest.raises(PydanticValidationError) as e:
        CreateEndpointInput.model_validate({"EndpointName": "churn", "EndpointConfigName": "../../x"})
    where, message = _first_error(e)
    assert where == "EndpointConfigName" and "'../../x' is not a valid name" in message
    with pytest.raises(PydanticValidationError) as e:
        CreateEndpointInput.model_validate({"EndpointName": "churn\n", "EndpointConfigName": "x"})
    assert _first_error(e)[0] == "EndpointName"


def test_records_name_the_field_of_a_bad_name() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    variant = {"VariantName": "blue", "ModelName": "../x"}
    with pytest.raises(PydanticValidationError) as e:
        EndpointConfig.model_validate(
            {"EndpointConfigName": "cfg", "EndpointConfigArn": "arn", "ProductionVariants": [variant], "CreationTime": now}
        )
    assert _first_error(e)[0] == "ProductionVariants.0.ModelName"
    container = {"AlgorithmName": "../../evil", "ModelDataUrl": "/m.tar.gz"}
    with pytest.raises(PydanticValidationError) as e:
        Model.model_validate({"ModelName": "m", "ModelArn": "arn", "PrimaryContainer": container, "CreationTime": now})
    assert _first_error(e)[0] == "PrimaryContainer.AlgorithmName"
    request = {
        "TrainingJobName": "job",
        "AlgorithmSpecification": {"AlgorithmName": "../../tmp/evil"},
        "OutputDataConfig": {"S3OutputPath": "/out"},
    }
    with pytest.raises(PydanticValidationError) as e:
        TrainingJobRequest.model_validate(request)
    assert _first_error(e)[0] == "AlgorithmSpecification.AlgorithmName"
    channel = {"ChannelName": "..", "DataSource": {"S3DataSource": {"S3Uri": "/data"}}}
    with pytest.raises(PydanticValidationError) as e:
        TrainingJobRequest.model_validate({**request, "AlgorithmSpecification": {}, "InputDataConfig": [channel]})
    assert _first_error(e)[0] == "InputDataConfig.0.ChannelName"
    schedule = {
        "MonitoringScheduleName": "s",
        "EndpointName": "../e",
        "BaselineName": "b",
        "ScheduleConfig": {"ScheduleExpression": "rate(1 hour)"},
        "Monitors": [{"MonitoringType": "data-quality"}],
    }
    with pytest.raises(PydanticValidationError) as e:
        MonitoringSchedule.model_validate(schedule)
    assert _first_error(e)[0] == "EndpointName"


def test_path_under_keeps_names_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    assert path_under(root, "models", "m.json") == root / "models" / "m.json"
    for parts in (("..", "x"), ("models", "../../x"), ("/etc/passwd",), (".",), ("",), ("a\x00b",)):
        with pytest.raises(ValidationError) as e:
            path_under(root, *parts, field="ModelName")
        assert e.value.field == "ModelName"


def test_path_under_refuses_a_symlinked_escape(tmp_path: Path) -> None:
    root, outside = tmp_path / "store", tmp_path / "outside"
    (root / "models").mkdir(parents=True)
    outside.mkdir()
    (outside / "m.json").write_text("{}")
    (root / "models" / "m.json").symlink_to(outside / "m.json")  # a file that is a link out
    (root / "jobs").symlink_to(outside, target_is_directory=True)  # a folder that is a link out
    (root / "models" / "dangling.json").symlink_to(outside / "new.json")  # a write would land outside
    for parts in (("models", "m.json"), ("jobs", "j"), ("models", "dangling.json")):
        with pytest.raises(ValidationError, match="leads outside"):
            path_under(root, *parts, field="name")
    # a link that stays inside is fine; a catalog keeps links its owner placed (follow_links=False)
    (root / "models" / "alias.json").symlink_to(root / "models" / "real.json")
    assert path_under(root, "models", "alias.json") == root / "models" / "real.json"
    assert path_under(root, "jobs", "j", follow_links=False) == root / "jobs" / "j"
    with pytest.raises(ValidationError):
        path_under(root, "..", "outside", follow_links=False)
