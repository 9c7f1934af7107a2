"""CreateTrainingJob's wire request turned into the training use case's input, once, at the edge: what
the local runtime honours is carried over, everything else is refused naming the member; answers are
projected onto botocore's output shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.api.errors import ApiError
from mlops.api.service_model import answer, validate_input
from mlops.api.training import TrainingOperations
from mlops.core.training import TrainingInputMode
from mlops.runtime.instance_types import this_machine
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.settings import Settings


@pytest.fixture
def ops(tmp_path: Path) -> TrainingOperations:
    settings = Settings(home=tmp_path / "home")
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    return TrainingOperations(LocalProcessRuntime(settings.jobs_dir, catalog), catalog)


def request(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "TrainingJobName": "job-1",
        "AlgorithmSpecification": {"TrainingImage": "mlops/xgboost:latest", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::000000000000:role/local",
        "HyperParameters": {"num_round": "3"},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "/data/train"}},
            },
        ],
        "OutputDataConfig": {"S3OutputPath": "/out"},
        "ResourceConfig": {"InstanceType": "local", "InstanceCount": 1, "VolumeSizeInGB": 2},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    base.update(changes)
    return base


def refusal(ops: TrainingOperations, params: dict[str, Any]) -> str:
    with pytest.raises(ApiError) as e:
        ops.training_input(params)
    assert e.value.code == "ValidationException" and e.value.status == 400
    return e.value.message


def test_the_wire_request_becomes_the_use_cases_input(ops: TrainingOperations) -> None:
    inp, output = ops.training_input(request())
    assert (inp.algorithm, inp.image, inp.job_name, output) == ("xgboost", None, "job-1", "/out")
    assert inp.channels == {"train": "/data/train"} and inp.content_type == "text/csv"
    assert inp.input_mode is TrainingInputMode.File and inp.max_runtime_seconds == 600
    assert inp.resources.VolumeSizeInGB == 2 and inp.hyperparameters == {"num_round": "3"}
    by_name, _ = ops.training_input(request(AlgorithmSpecification={"AlgorithmName": "xgboost"}))
    assert by_name.algorithm == "xgboost"
    digest, _ = ops.training_input(request(AlgorithmSpecification={"TrainingImage": "mlops/xgboost"}))
    assert digest.algorithm == "xgboost"


def test_sagemaker_built_in_image_uris_and_ml_instance_types_map_to_local_ones(ops: TrainingOperations) -> None:
    ecr = {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}
    ml = {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 3}
    inp, _ = ops.training_input(request(AlgorithmSpecification=ecr, ResourceConfig=ml))
    assert inp.algorithm == "xgboost"
    machine = this_machine()
    assert inp.resources.InstanceType == "ml.m5.xlarge" and inp.resources.VolumeSizeInGB == 3
    assert inp.resources.Cpus == min(4, machine.Cpus) and inp.resources.MemoryMiB == min(16 * 1024, machine.MemoryMiB)


def test_what_the_local_runtime_cannot_honour_is_refused_by_name(ops: TrainingOperations) -> None:
    ecr = {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7-1"}  # no algorithm declares it
    assert "AlgorithmSpecification.TrainingImage" in refusal(ops, request(AlgorithmSpecification=ecr))
    stranger = {"TrainingImage": "111122223333.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"}
    assert "AlgorithmSpecification.TrainingImage" in refusal(ops, request(AlgorithmSpecification=stranger))
    other = {"TrainingImage": "mlops/no-such-algorithm:latest"}
    assert "AlgorithmSpecification.TrainingImage" in refusal(ops, request(AlgorithmSpecification=other))
    assert "AlgorithmSpecification.AlgorithmName" in refusal(
        ops, request(AlgorithmSpecification={"AlgorithmName": "nope"})
    )
    assert "AlgorithmSpecification" in refusal(ops, request(AlgorithmSpecification={}))
    unknown = {"InstanceType": "ml.m5.huge", "InstanceCount": 1, "VolumeSizeInGB": 1}
    assert "ResourceConfig.InstanceType" in refusal(ops, request(ResourceConfig=unknown))
    two = {"InstanceType": "local", "InstanceCount": 2, "VolumeSizeInGB": 1}
    assert "ResourceConfig.InstanceCount" in refusal(ops, request(ResourceConfig=two))
    assert refusal(ops, request(Tags=[{"Key": "a", "Value": "b"}])).startswith("Tags ")
    assert "VpcConfig" in refusal(ops, request(VpcConfig={"SecurityGroupIds": ["sg"], "Subnets": ["s"]}))
    channel = request()["InputDataConfig"][0]
    assert "InputDataConfig[0].CompressionType" in refusal(
        ops, request(InputDataConfig=[{**channel, "CompressionType": "Gzip"}])
    )
    efs = {
        "FileSystemDataSource": {
            "FileSystemId": "fs",
            "FileSystemAccessMode": "ro",
            "FileSystemType": "EFS",
            "DirectoryPath": "/x",
        }
    }
    assert "InputDataConfig[0].DataSource" in refusal(ops, request(InputDataConfig=[{**channel, "DataSource": efs}]))
    mixed = [channel, {**channel, "ChannelName": "validation", "ContentType": "application/x-recordio-protobuf"}]
    assert "ContentType" in refusal(ops, request(InputDataConfig=mixed))
    piped = [{**channel, "InputMode": "Pipe"}]
    assert "InputDataConfig[0].InputMode" in refusal(ops, request(InputDataConfig=piped))


def test_botocores_model_names_the_bad_field() -> None:
    params = request()
    del params["OutputDataConfig"]
    with pytest.raises(ApiError) as e:
        validate_input("CreateTrainingJob", params)
    assert e.value.code == "ValidationException" and "OutputDataConfig" in e.value.message
    with pytest.raises(ApiError) as e:
        validate_input("CreateTrainingJob", request(HyperParameters={"num_round": 3}))
    assert "HyperParameters.num_round" in e.value.message
    with pytest.raises(ApiError):
        validate_input("ListTrainingJobs", ["not", "an", "object"])
    validate_input("CreateTrainingJob", request())


def test_answers_hold_only_the_output_shapes_members() -> None:
    when = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)
    out = answer(
        "ListTrainingJobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "a",
                    "TrainingJobArn": "arn",
                    "CreationTime": when,
                    "TrainingJobStatus": "Completed",
                    "SecondaryStatus": "Completed",
                    "ModelArtifactSha256": "ours",
                    "TrainingEndTime": None,
                }
            ],
            "Ours": 1,
        },
    )
    assert out == {
        "TrainingJobSummaries": [
            {
                "TrainingJobName": "a",
                "TrainingJobArn": "arn",
                "CreationTime": when.timestamp(),
                "TrainingJobStatus": "Completed",
                "SecondaryStatus": "Completed",
            }
        ]
    }
    assert answer("StopTrainingJob", {"anything": 1}) == {}
