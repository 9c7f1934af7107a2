"""SageMaker's own hosting API on `mlops router`, driven by unchanged boto3 `sagemaker` and
`sagemaker-runtime` clients: a model from a training job's artifact with the SDK's xgboost image URI, an
endpoint config, an endpoint (boto3's own waiter), predictions, a CANARY blue/green update, a rollback on
an alarm that fires, weights, lists with pagination, deletes; SageMaker's errors and hostile input."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mlops.data.churn_sample import DemoFiles
from tests.integration.sagemaker_api_support import FAST_WAIT, REGION, client, create_request, fits
from tests.integration.test_hosting_support import ROW, Hosting

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::000000000000:role/local"


@pytest.fixture(scope="module")
def router(sagemaker_router: Hosting) -> Hosting:
    return sagemaker_router


@pytest.fixture(scope="module")
def sm(router: Hosting):  # type: ignore[no-untyped-def]
    return client(router)


@pytest.fixture(scope="module")
def runtime(router: Hosting):  # type: ignore[no-untyped-def]
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=router.url,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def trained(sm, churn: DemoFiles, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from sagemaker.core import image_uris

    image = image_uris.retrieve("xgboost", REGION, "1.7-1")
    request = create_request("api-host-train", churn, str(tmp_path_factory.mktemp("host-out")))
    request["AlgorithmSpecification"]["TrainingImage"] = image
    sm.create_training_job(**request)
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="api-host-train", WaiterConfig=FAST_WAIT)
    job = sm.describe_training_job(TrainingJobName="api-host-train")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    return {"image": image, "data": job["ModelArtifacts"]["S3ModelArtifacts"]}


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def _status(sm: Any, name: str) -> dict[str, Any]:
    described = sm.describe_endpoint(EndpointName=name)
    assert fits(sm, "DescribeEndpoint", described) == []
    return described  # type: ignore[no-any-return]


def _until(sm: Any, name: str, done: Any, timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = _status(sm, name)
        if done(described):
            return described
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {described['EndpointStatus']}"
        time.sleep(0.2)


class Traffic:
    """invoke_endpoint in a loop on a thread, counting answers and errors."""

    def __init__(self, runtime: Any, name: str) -> None:
        self.runtime, self.name = runtime, name
        self.ok = self.errors = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.runtime.invoke_endpoint(EndpointName=self.name, ContentType="text/csv", Body=ROW)
                self.ok += 1
            except ClientError:
                self.errors += 1
            time.sleep(0.02)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def test_host_a_trained_model_update_roll_back_and_delete_with_unchanged_boto3(sm, runtime, trained) -> None:  # type: ignore[no-untyped-def]
    created = sm.create_model(
        ModelName="api-host-m1",
        PrimaryContainer={"Image": trained["image"], "ModelDataUrl": trained["data"]},
        ExecutionRoleArn=ROLE,
    )
    assert created["ModelArn"].endswith(":model/api-host-m1") and fits(sm, "CreateModel", created) == []
    # a model whose server refuses every request over 8 bytes (413): the alarm below really fires on it
    sm.create_model(
        ModelName="api-host-refuses",
        Containers=[
            {"Image": trained["image"], "ModelDataUrl": trained["data"], "Environment": {"MLOPS_MAX_PAYLOAD_BYTES": "8"}}
        ],
        ExecutionRoleArn=ROLE,
    )
    model = sm.describe_model(ModelName="api-host-m1")
    assert model["PrimaryContainer"]["ModelDataUrl"] == trained["data"] and fits(sm, "DescribeModel", model) == []

    variant = {"ModelName": "api-host-m1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    config = sm.create_endpoint_config(
        EndpointConfigName="api-host-c1", ProductionVariants=[{**variant, "VariantName": "v1"}]
    )
    assert config["EndpointConfigArn"].endswith(":endpoint-config/api-host-c1")
    assert fits(sm, "CreateEndpointConfig", config) == []
    sm.create_endpoint_config(
        EndpointConfigName="api-host-c2",
        ProductionVariants=[
            {**variant, "VariantName": "a", "InitialVariantWeight": 1.0},
            {**variant, "VariantName": "b", "InitialVariantWeight": 1.0},
        ],
    )
    sm.create_endpoint_config(
        EndpointConfigName="api-host-c3",
        ProductionVariants=[{**variant, "ModelName": "api-host-refuses", "VariantName": "bad"}],
    )
    described = sm.describe_endpoint_config(EndpointConfigName="api-host-c2")
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["a", "b"]
    assert fits(sm, "DescribeEndpointConfig", described) == []

    endpoint = sm.create_endpoint(EndpointName="api-host-ep", EndpointConfigName="api-host-c1")
    assert endpoint["EndpointArn"].endswith(":endpoint/api-host-ep") and fits(sm, "CreateEndpoint", endpoint) == []
    assert _status(sm, "api-host-ep")["EndpointStatus"] in ("Creating", "InService")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="api-host-ep", WaiterConfig=FAST_WAIT)
    answer = runtime.invoke_endpoint(EndpointName="api-host-ep", ContentType="text/csv", Body=f"{ROW}\n{ROW}\n")
    predictions = [float(p) for p in answer["Body"].read().decode().split()]
    assert len(predictions) == 2 and all(0.0 <= p <= 1.0 for p in predictions)

    # a CANARY blue/green update to a second config: Updating with a pending deployment, then InService on it
    canary = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                "WaitIntervalInSeconds": 2,
            },
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": 600,
        }
    }
    updated = sm.update_endpoint(EndpointName="api-host-ep", EndpointConfigName="api-host-c2", DeploymentConfig=canary)
    assert fits(sm, "UpdateEndpoint", updated) == []
    updating = _status(sm, "api-host-ep")
    assert updating["EndpointStatus"] == "Updating"
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "api-host-c2"
    assert {v["VariantName"] for v in updating["PendingDeploymentSummary"]["ProductionVariants"]} == {"a", "b"}
    code, message = _error(sm.update_endpoint, EndpointName="api-host-ep", EndpointConfigName="api-host-c1")
    assert code == "ValidationException" and "Cannot update in-progress endpoint" in message
    with Traffic(runtime, "api-host-ep") as traffic:
        sm.get_waiter("endpoint_in_service").wait(EndpointName="api-host-ep", WaiterConfig=FAST_WAIT)
    assert traffic.ok > 0 and traffic.errors == 0
    done = _status(sm, "api-host-ep")
    assert done["EndpointConfigName"] == "api-host-c2" and "PendingDeploymentSummary" not in done
    routing = done["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "CANARY" and routing["CanarySize"] == {"Type": "CAPACITY_PERCENT", "Value": 50}
    assert {v["VariantName"]: v["CurrentWeight"] for v in done["ProductionVariants"]} == {"a": 1.0, "b": 1.0}

    # an update whose new fleet answers 4xx: the platform's client-error-rate alarm fires, it rolls back
    guarded = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 30},
            "MaximumExecutionTimeoutInSeconds": 600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "client-error-rate"}]},
    }
    with Traffic(runtime, "api-host-ep"):
        sm.update_endpoint(EndpointName="api-host-ep", EndpointConfigName="api-host-c3", DeploymentConfig=guarded)
        seen = set()

        def back(d: dict[str, Any]) -> bool:
            seen.add(d["EndpointStatus"])
            return d["EndpointStatus"] == "InService" and "FailureReason" in d

        rolled = _until(sm, "api-host-ep", back, 120, "the rollback")
    assert "RollingBack" in seen or "Updating" in seen
    assert rolled["EndpointConfigName"] == "api-host-c2"
    assert "client-error-rate" in rolled["FailureReason"]
    assert rolled["LastDeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": "client-error-rate"}]

    weights = sm.update_endpoint_weights_and_capacities(
        EndpointName="api-host-ep", DesiredWeightsAndCapacities=[{"VariantName": "b", "DesiredWeight": 0.0}]
    )
    assert fits(sm, "UpdateEndpointWeightsAndCapacities", weights) == []
    sm.get_waiter("endpoint_in_service").wait(EndpointName="api-host-ep", WaiterConfig=FAST_WAIT)
    shifted = _status(sm, "api-host-ep")
    assert {v["VariantName"]: v["DesiredWeight"] for v in shifted["ProductionVariants"]} == {"a": 1.0, "b": 0.0}
    for _ in range(5):
        invoked = runtime.invoke_endpoint(EndpointName="api-host-ep", ContentType="text/csv", Body=ROW)
        assert invoked["InvokedProductionVariant"] == "a"

    # lists: filters, sort, pages
    first = sm.list_models(NameContains="API-HOST", SortBy="Name", SortOrder="Ascending", MaxResults=1)
    assert [m["ModelName"] for m in first["Models"]] == ["api-host-m1"] and fits(sm, "ListModels", first) == []
    second = sm.list_models(NameContains="api-host", SortBy="Name", SortOrder="Ascending", NextToken=first["NextToken"])
    assert [m["ModelName"] for m in second["Models"]] == ["api-host-refuses"] and "NextToken" not in second
    pages = sm.get_paginator("list_endpoint_configs").paginate(
        NameContains="api-host-c", SortBy="CreationTime", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    names = [c["EndpointConfigName"] for p in pages for c in p["EndpointConfigs"]]
    assert names == ["api-host-c1", "api-host-c2", "api-host-c3"]
    listed = sm.list_endpoints(NameContains="api-host", StatusEquals="InService")
    assert [e["EndpointName"] for e in listed["Endpoints"]] == ["api-host-ep"] and fits(sm, "ListEndpoints", listed) == []
    assert sm.list_endpoints(NameContains="api-host", StatusEquals="Failed")["Endpoints"] == []

    # deletes: a config and a model in use may go, as on SageMaker; the endpoint goes on serving
    assert fits(sm, "DeleteEndpointConfig", sm.delete_endpoint_config(EndpointConfigName="api-host-c2")) == []
    assert fits(sm, "DeleteModel", sm.delete_model(ModelName="api-host-refuses")) == []
    runtime.invoke_endpoint(EndpointName="api-host-ep", ContentType="text/csv", Body=ROW)
    assert fits(sm, "DeleteEndpoint", sm.delete_endpoint(EndpointName="api-host-ep")) == []
    code, message = _error(sm.describe_endpoint, EndpointName="api-host-ep")
    assert (code, message) == ("ValidationException", 'Could not find endpoint "arn:aws:sagemaker:local:000000000000:endpoint/api-host-ep".')
    code, message = _error(sm.describe_endpoint_config, EndpointConfigName="api-host-c2")
    assert code == "ValidationException" and message.startswith("Could not find endpoint configuration")
    code, message = _error(sm.describe_model, ModelName="api-host-refuses")
    assert code == "ValidationException" and message.startswith('Could not find model "arn:')


def test_hosting_errors_and_hostile_input_name_the_field(sm, trained) -> None:  # type: ignore[no-untyped-def]
    container = {"Image": trained["image"], "ModelDataUrl": trained["data"]}
    sm.create_model(ModelName="api-host-e1", PrimaryContainer=container, ExecutionRoleArn=ROLE)
    code, message = _error(sm.create_model, ModelName="api-host-e1", PrimaryContainer=container, ExecutionRoleArn=ROLE)
    assert code == "ValidationException" and message.startswith('Cannot create already existing model "arn:')
    cases = [
        ({"ModelName": "../x", "PrimaryContainer": container}, "ModelName"),
        ({"ModelName": "api-host-e2", "PrimaryContainer": {**container, "ModelDataUrl": "s3://b/a/../../x"}},
         "PrimaryContainer.ModelDataUrl"),
        ({"ModelName": "api-host-e2", "PrimaryContainer": {**container, "ModelDataUrl": "/tmp/../etc/passwd"}},
         "PrimaryContainer.ModelDataUrl"),
        ({"ModelName": "api-host-e2", "PrimaryContainer": {**container, "Image": "evil.example/xgb:1"}},
         "PrimaryContainer.Image"),
        ({"ModelName": "api-host-e2", "PrimaryContainer": container, "VpcConfig": {"SecurityGroupIds": ["sg-1"],
          "Subnets": ["s-1"]}}, "VpcConfig"),
    ]  # fmt: skip
    for request, field in cases:
        code, message = _error(sm.create_model, ExecutionRoleArn=ROLE, **request)
        assert code == "ValidationException" and field in message, (request, message)
    variant = {"VariantName": "v", "ModelName": "api-host-e1", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    code, message = _error(sm.create_endpoint_config, EndpointConfigName="../c", ProductionVariants=[variant])
    assert code == "ValidationException" and "EndpointConfigName" in message
    code, message = _error(
        sm.create_endpoint_config,
        EndpointConfigName="api-host-ec",
        ProductionVariants=[{**variant, "ModelName": "api-host-none"}],
    )
    assert message.startswith('Could not find model "arn:')
    code, message = _error(
        sm.create_endpoint_config, EndpointConfigName="api-host-ec", ProductionVariants=[variant], KmsKeyId="k"
    )
    assert "KmsKeyId" in message
    sm.create_endpoint_config(EndpointConfigName="api-host-ec", ProductionVariants=[variant])
    code, message = _error(sm.create_endpoint_config, EndpointConfigName="api-host-ec", ProductionVariants=[variant])
    assert message.startswith('Cannot create already existing endpoint configuration "arn:')
    code, message = _error(sm.create_endpoint, EndpointName="api-host-e", EndpointConfigName="api-host-none")
    assert message.startswith('Could not find endpoint configuration "arn:')
    code, message = _error(sm.update_endpoint, EndpointName="api-host-none", EndpointConfigName="api-host-ec")
    assert message.startswith('Could not find endpoint "arn:')

    sm.create_endpoint(EndpointName="api-host-e", EndpointConfigName="api-host-ec")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="api-host-e", WaiterConfig=FAST_WAIT)
    code, message = _error(sm.create_endpoint, EndpointName="api-host-e", EndpointConfigName="api-host-ec")
    assert message.startswith('Cannot create already existing endpoint "arn:')
    bad_configs = [
        ({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 1}}},
         "DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration"),
        ({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "SIDEWAYS", "WaitIntervalInSeconds": 1}}},
         "DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type"),
        ({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 1}},
          "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "no-such-alarm"}]}},
         "DeploymentConfig.AutoRollbackConfiguration.Alarms[0].AlarmName"),
        ({"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                                  "WaitIntervalInSeconds": 1}}, "DeploymentConfig.RollingUpdatePolicy"),
    ]  # fmt: skip
    for deployment, field in bad_configs:
        code, message = _error(
            sm.update_endpoint, EndpointName="api-host-e", EndpointConfigName="api-host-ec", DeploymentConfig=deployment
        )
        assert code == "ValidationException" and field in message, (deployment, message)
    code, message = _error(
        sm.update_endpoint_weights_and_capacities,
        EndpointName="api-host-e",
        DesiredWeightsAndCapacities=[{"VariantName": "nope", "DesiredWeight": 1.0}],
    )
    assert code == "ValidationException" and "VariantName" in message
    code, message = _error(sm.list_endpoints, NextToken="garbage")
    assert "NextToken" in message
    assert _status(sm, "api-host-e")["EndpointStatus"] == "InService"  # nothing refused changed it
    sm.delete_endpoint(EndpointName="api-host-e")
