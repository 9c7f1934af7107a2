"""CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs and StopTrainingJob on a training runtime,
through the training use case (services/training.py), so a job created here is validated as
``mlops train`` validates it and is the same record `mlops jobs` shows.

The algorithm is ``AlgorithmSpecification.AlgorithmName`` (a folder of the catalog) or a
``TrainingImage``: a local image (``mlops/xgboost:latest``) or the ECR URI of a SageMaker built-in that an
algorithm.json declares (what ``sagemaker.image_uris.retrieve("xgboost", region, "1.7-1")`` returns;
algorithms/image_uris.py); any other image is refused. ``ResourceConfig.InstanceType`` is ``local`` or an
``ml.*`` type, which runs with that type's CPUs and memory as limits, no more than this machine has
(runtime/instance_types.py).
Channels are ``S3DataSource.S3Uri`` locations: local paths, file:// or s3:// URIs (read through the
artifact store). ``RoleArn`` is required by SageMaker's model and accepted; there is no IAM here.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.utils import parse_to_aware_datetime

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.algorithms.image_uris import resolve_training_image
from mlops.api.errors import ApiError, not_found, validation
from mlops.api.operations import Operation, table
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.training import ResourceConfig, TrainingInputMode, TrainingJob, TrainingJobStatus, training_job_arn
from mlops.runtime.instance_types import resource_config as instance_resources
from mlops.runtime.interface import TrainingRuntime
from mlops.services.training import TrainingInput, start_training

LOCAL_INSTANCE_TYPE = "local"
STOP_ACK_SECONDS = 10.0  # how long StopTrainingJob waits for the supervisor to record Stopping
# Members of CreateTrainingJob this runtime honours (RoleArn: accepted, nothing to assume locally).
CREATE_MEMBERS = frozenset(
    {
        "TrainingJobName",
        "AlgorithmSpecification",
        "HyperParameters",
        "InputDataConfig",
        "OutputDataConfig",
        "ResourceConfig",
        "StoppingCondition",
        "Environment",
        "EnableNetworkIsolation",
        "RoleArn",
    }
)
ALGORITHM_MEMBERS = frozenset({"TrainingImage", "AlgorithmName", "TrainingInputMode", "MetricDefinitions"})
CHANNEL_MEMBERS = frozenset({"ChannelName", "DataSource", "ContentType", "CompressionType", "InputMode"})
SORT_KEYS = {
    "Name": lambda j: j.TrainingJobName,
    "CreationTime": lambda j: j.CreationTime,
    "Status": lambda j: j.TrainingJobStatus.value,
}


def _only(given: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise validation(f"{where}{extra[0]} is not supported by this local SageMaker API")


@dataclass(frozen=True)
class TrainingOperations:
    runtime: TrainingRuntime
    catalog: AlgorithmCatalog

    def operations(self) -> dict[str, Operation]:
        return table(
            Operation("CreateTrainingJob", self.create),
            Operation("DescribeTrainingJob", self.describe),
            Operation("ListTrainingJobs", self.list),
            Operation("StopTrainingJob", self.stop),
        )

    # --- the wire request -> our records ---------------------------------------------------------------

    def algorithm(self, spec: dict[str, Any], where: str = "AlgorithmSpecification") -> str:
        """The catalog algorithm an ``AlgorithmSpecification`` names (``where`` is its place in the request)."""
        _only(spec, ALGORITHM_MEMBERS, f"{where}.")
        names = self.catalog.names()
        if spec.get("AlgorithmName"):
            name = str(spec["AlgorithmName"])
            if name not in names:
                raise validation(f"{where}.AlgorithmName {name!r} is not an algorithm of this catalog")
            return name
        image = str(spec.get("TrainingImage") or "")
        if not image:
            raise validation(f"{where}: name a TrainingImage or an AlgorithmName")
        try:  # a local image (mlops/xgboost:latest) or a SageMaker built-in's ECR URI an algorithm declares
            return resolve_training_image(image, self.catalog)
        except ValidationError as e:
            raise validation(f"{where}.{e}") from None

    def training_input(self, params: dict[str, Any]) -> tuple[TrainingInput, str]:
        _only(params, CREATE_MEMBERS, "")
        spec = params.get("AlgorithmSpecification") or {}
        algorithm = self.algorithm(spec)
        mode = TrainingInputMode(spec.get("TrainingInputMode", "File"))
        channels, content_type = wire_channels(params.get("InputDataConfig", []), mode)
        resource_config = wire_resources(params.get("ResourceConfig", {}))
        inp = TrainingInput(
            algorithm=algorithm,
            channels=channels,
            hyperparameters=dict(params.get("HyperParameters", {})),
            content_type=content_type,
            input_mode=mode,
            job_name=params["TrainingJobName"],
            resources=resource_config,
            max_runtime_seconds=params.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 86400),
            environment=dict(params.get("Environment", {})),
            network_isolation=bool(params.get("EnableNetworkIsolation", True)),
        )
        return inp, params["OutputDataConfig"]["S3OutputPath"]

    # --- the operations ---------------------------------------------------------------------------------

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        inp, output = self.training_input(params)
        try:
            job = start_training(self.runtime, self.catalog, inp, output)
        except ConflictError:
            raise ApiError(
                "ResourceInUse",
                f"Training job names must be unique within an AWS account and region, and a training job "
                f"with this name already exists ({training_job_arn(params['TrainingJobName'])})",
            ) from None
        except ValidationError as e:
            raise validation(str(e)) from None
        return {"TrainingJobArn": job.TrainingJobArn}

    def job(self, name: str) -> TrainingJob:
        try:
            return self.runtime.describe_training_job(name)
        except NotFoundError:
            raise not_found() from None

    def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.job(params["TrainingJobName"]).model_dump(mode="python")

    def stop(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["TrainingJobName"]
        self.job(name)
        try:
            self.runtime.stop_training_job(name)
        except ConflictError:
            status = self.job(name).TrainingJobStatus.value
            raise validation(f"The request was rejected because the training job is in status {status}.") from None
        # SageMaker's job is Stopping once the call returns; the supervisor records it on the signal
        deadline = time.monotonic() + STOP_ACK_SECONDS
        while self.job(name).TrainingJobStatus is TrainingJobStatus.InProgress and time.monotonic() < deadline:
            time.sleep(0.05)
        return {}

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        jobs = self.runtime.list_training_jobs()
        jobs = [j for j in jobs if _matches(j, params)]
        sort_by, order = params.get("SortBy", "CreationTime"), params.get("SortOrder", "Ascending")
        if sort_by not in SORT_KEYS:
            raise validation(f"SortBy: {sort_by!r} is not one of {', '.join(SORT_KEYS)}")
        if order not in ("Ascending", "Descending"):
            raise validation(f"SortOrder: {order!r} is not Ascending or Descending")
        jobs.sort(key=SORT_KEYS[sort_by], reverse=order == "Descending")
        start = _offset(params.get("NextToken"))
        size = params.get("MaxResults", 10)
        page = jobs[start : start + size]
        out: dict[str, Any] = {"TrainingJobSummaries": [j.model_dump(mode="python") for j in page]}
        if start + size < len(jobs):
            out["NextToken"] = _token(start + size)
        return out


def wire_channels(
    config: list[dict[str, Any]], mode: TrainingInputMode, where: str = "InputDataConfig"
) -> tuple[dict[str, str], str]:
    """``InputDataConfig`` as channel name -> ``S3Uri`` and the one ContentType of its channels."""
    channels: dict[str, str] = {}
    content_types = set()
    for i, channel in enumerate(config):
        at = f"{where}[{i}]."
        _only(channel, CHANNEL_MEMBERS, at)
        source = channel["DataSource"]
        if set(source) != {"S3DataSource"}:
            raise validation(f"{at}DataSource: only S3DataSource is supported by this local SageMaker API")
        s3 = source["S3DataSource"]
        if s3.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise validation(f"{at}DataSource.S3DataSource.S3DataType: only S3Prefix is supported")
        if channel.get("CompressionType", "None") != "None":
            raise validation(f"{at}CompressionType: only None is supported")
        if channel.get("InputMode", mode.value) != mode.value:
            raise validation(f"{at}InputMode: every channel uses AlgorithmSpecification.TrainingInputMode")
        channels[channel["ChannelName"]] = s3["S3Uri"]
        content_types.add(channel.get("ContentType", "text/csv"))
    if len(content_types) > 1:
        raise validation(f"{where}: every channel has one ContentType here (got {sorted(content_types)})")
    return channels, next(iter(content_types), "text/csv")


def wire_resources(resources: dict[str, Any], where: str = "ResourceConfig") -> ResourceConfig:
    """``ResourceConfig``: ``local`` or an ``ml.*`` type (its CPUs and memory, no more than this machine has,
    as limits), one instance."""
    instance_type = resources.get("InstanceType", LOCAL_INSTANCE_TYPE)
    if resources.get("InstanceCount", 1) != 1:
        raise validation(f"{where}.InstanceCount: the local runtime runs one instance")
    volume = resources.get("VolumeSizeInGB", 1)
    if instance_type == LOCAL_INSTANCE_TYPE:
        return ResourceConfig(VolumeSizeInGB=volume)
    try:
        return instance_resources(instance_type, volume_size_in_gb=volume)
    except ValidationError as e:
        raise validation(f"{where}.{e}") from None


def _matches(job: TrainingJob, params: dict[str, Any]) -> bool:
    contains = params.get("NameContains")
    if contains and contains.lower() not in job.TrainingJobName.lower():
        return False
    status = params.get("StatusEquals")
    if status and status not in TrainingJobStatus.__members__:
        raise validation(f"StatusEquals: {status!r} is not one of {', '.join(TrainingJobStatus.__members__)}")
    if status and job.TrainingJobStatus is not TrainingJobStatus(status):
        return False
    bounds: list[tuple[str, datetime, bool]] = [
        ("CreationTimeAfter", job.CreationTime, True),
        ("CreationTimeBefore", job.CreationTime, False),
        ("LastModifiedTimeAfter", job.LastModifiedTime, True),
        ("LastModifiedTimeBefore", job.LastModifiedTime, False),
    ]
    for key, when, after in bounds:
        if key in params:
            bound = parse_to_aware_datetime(params[key])
            if (when <= bound) if after else (when >= bound):
                return False
    return True


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise validation("NextToken: not a token this API returned") from None
    if not isinstance(offset, int) or offset < 0:
        raise validation("NextToken: not a token this API returned")
    return offset
