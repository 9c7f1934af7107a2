"""Helpers shared by the SageMaker-API integration tests (no tests here): a boto3 client of the local
API signed with the home's key pair, a training request over the churn sample, and the check that a
parsed answer fits botocore's output shape. The router itself is the session fixture ``sagemaker_router``
(tests/integration/conftest.py): one control process for every SageMaker-API test, so each test uses
names of its own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.model import Shape

from mlops.data.churn_sample import DemoFiles
from mlops.hosting.credentials import ControlCredentials
from tests.integration.test_hosting_support import Hosting

REGION = "us-east-1"
XGB = {"objective": "binary:logistic", "num_round": "5", "max_depth": "3", "eta": "0.3", "nthread": "1"}
FAST_WAIT = {"Delay": 1, "MaxAttempts": 300}
# Enum values of ours beside SageMaker's (botocore treats enums as open: it neither refuses nor parses
# them): "local" is the instance type of the SageMaker Python SDK's local mode, and of this API.
LOCAL_VALUES = {("TrainingInstanceType", "local")}


def client(router: Hosting, **config: Any):  # type: ignore[no-untyped-def]
    creds = ControlCredentials.for_home(router.home)
    return boto3.client(
        "sagemaker",
        endpoint_url=router.url,
        region_name=REGION,
        aws_access_key_id=creds.AccessKeyId,
        aws_secret_access_key=creds.SecretAccessKey,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def create_request(name: str, churn: DemoFiles, output: str, **hyperparameters: str) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "mlops/xgboost:latest", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::000000000000:role/local",
        "HyperParameters": {**XGB, **hyperparameters},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(churn.train)}},
            },
            {
                "ChannelName": "validation",
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(churn.validation)}},
            },
        ],
        "OutputDataConfig": {"S3OutputPath": output},
        "ResourceConfig": {"InstanceType": "local", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def shape_problems(value: Any, shape: Shape, where: str = "") -> list[str]:
    """Where a parsed boto3 answer does not fit botocore's output shape: unknown or missing members,
    wrong types."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a structure"]
        members = shape.members  # type: ignore[attr-defined]
        problems = [f"{where}.{k}: not a member of {shape.name}" for k in value if k not in members]
        problems += [f"{where}.{k}: required, missing" for k in shape.required_members if k not in value]  # type: ignore[attr-defined]
        for k, item in value.items():
            if k in members:
                problems += shape_problems(item, members[k], f"{where}.{k}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, item in enumerate(value) for p in shape_problems(item, shape.member, f"{where}[{i}]")]  # type: ignore[attr-defined]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: not a map"]
        return [p for k, v in value.items() for p in shape_problems(v, shape.value, f"{where}[{k}]")]  # type: ignore[attr-defined]
    expected: dict[str, tuple[type, ...]] = {
        "string": (str,),
        "integer": (int,),
        "long": (int,),
        "float": (float, int),
        "double": (float, int),
        "boolean": (bool,),
        "timestamp": (datetime,),
    }
    ok = isinstance(value, expected.get(kind, (object,))) and not (
        kind in ("integer", "long") and isinstance(value, bool)
    )
    problems = [] if ok else [f"{where}: {type(value).__name__}, not {kind}"]
    if kind == "string" and shape.enum and value not in shape.enum and (shape.name, value) not in LOCAL_VALUES:  # type: ignore[attr-defined]
        problems.append(f"{where}: {value!r} is not one of {shape.name}'s values")
    return problems


def fits(sm: Any, operation: str, response: dict[str, Any]) -> list[str]:
    shape = sm.meta.service_model.operation_model(operation).output_shape
    value = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if shape is None:  # an operation that answers nothing (StopTrainingJob)
        return [f"{operation} has no output shape but answered {sorted(value)}"] if value else []
    return shape_problems(value, shape)
