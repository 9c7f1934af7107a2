"""The hosting operations' pure pieces: wire requests to hosting records (models, endpoint configs,
deployment configs, alarm names), SageMaker's errors, the lists' filters and pages, and DescribeEndpoint's
shape; models and endpoint configs against a real hosting store."""

from __future__ import annotations

import hashlib
import tarfile
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.api.errors import ApiError
from mlops.api.hosting import (
    HostingOperations,
    alarm_definitions,
    check_data_url,
    deployment_config,
    endpoint_answer,
    shadow_sampling,
)
from mlops.api.listing import page, sort_and_filter, token
from mlops.api.service_model import answer
from mlops.core.hosting import (
    AlarmDefinition,
    DeploymentStatus,
    DeploymentSummary,
    Endpoint,
    EndpointConfig,
    EndpointStatus,
    ProductionVariant,
    TrafficRoutingConfigType,
    TrafficStep,
)
from mlops.hosting.controller import Controller
from mlops.hosting.store import HostingStore
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.services.hosting import Hosting
from mlops.settings import Settings
from mlops.store.interface import open_store

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALARM = AlarmDefinition(AlarmName="any-5xx", MetricName="Invocation5XXErrors", Statistic="Sum", Threshold=0)


def _refused(call: Any, *args: Any) -> str:
    with pytest.raises(ApiError) as e:
        call(*args)
    assert e.value.code == "ValidationException"
    return e.value.message


@pytest.fixture
def ops(tmp_path: Path) -> HostingOperations:
    settings = Settings(home=tmp_path / "home")
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    hosting = Hosting(
        HostingStore(settings.home), catalog, LocalProcessRuntime(settings.jobs_dir, catalog), partial(open_store)
    )
    return HostingOperations(hosting, cast(Controller, None), lambda: {"any-5xx": ALARM})


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    (tmp_path / "xgboost-model").write_text("not really a model")
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tmp_path / "xgboost-model", arcname="xgboost-model")
    return path


def test_model_data_urls_are_checked_before_use() -> None:
    assert check_data_url("F", "s3://bucket/a/model.tar.gz") == "s3://bucket/a/model.tar.gz"
    assert check_data_url("F", "file:///data/model.tar.gz") == "/data/model.tar.gz"
    assert check_data_url("F", "/data/model.tar.gz") == "/data/model.tar.gz"
    for bad in ("s3://bucket/a/../../x", "s3://bucket//x", "s3://bucket", "s3:///x", "relative/model.tar.gz",
                "/data/../etc/passwd", "file://../x", "http://host/x", "/data/a\0b", "s3://b/a\\b"):  # fmt: skip
        assert _refused(check_data_url, "PrimaryContainer.ModelDataUrl", bad).startswith(
            "PrimaryContainer.ModelDataUrl: "
        ), bad


def test_create_model_computes_the_sha256_when_no_job_vouches(ops: HostingOperations, archive: Path) -> None:
    request = {"ModelName": "m1", "PrimaryContainer": {"Image": "mlops/xgboost:latest", "ModelDataUrl": str(archive)}}
    assert ops.create_model(request) == {"ModelArn": "arn:aws:sagemaker:local:000000000000:model/m1"}
    model = ops.store.model("m1")
    assert model.ModelDataSha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert model.PrimaryContainer.AlgorithmName == "xgboost"
    described = answer("DescribeModel", ops.describe_model({"ModelName": "m1"}))
    assert described["PrimaryContainer"] == {"Image": "mlops/xgboost", "ModelDataUrl": str(archive), "Environment": {}}
    taken = _refused(ops.create_model, request)
    assert taken == 'Cannot create already existing model "arn:aws:sagemaker:local:000000000000:model/m1".'
    ecr = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    ops.create_model({"ModelName": "m2", "Containers": [{"Image": ecr, "ModelDataUrl": f"file://{archive}"}]})
    assert ops.store.model("m2").PrimaryContainer.AlgorithmName == "xgboost"


def test_create_model_refuses_by_field(ops: HostingOperations, archive: Path) -> None:
    good = {"Image": "mlops/xgboost", "ModelDataUrl": str(archive)}
    cases = [
        ({"ModelName": "m", "PrimaryContainer": {**good, "Image": "evil.example/x:1"}}, "PrimaryContainer.Image"),
        ({"ModelName": "m", "PrimaryContainer": {**good, "Image": "mlops/../x"}}, "PrimaryContainer.Image"),
        ({"ModelName": "m", "Containers": [good, good]}, "Containers"),
        ({"ModelName": "m", "Containers": [{**good, "ModelDataUrl": "s3://b/../x"}]}, "Containers[0].ModelDataUrl"),
        ({"ModelName": "m", "PrimaryContainer": {**good, "ModelDataUrl": str(archive) + ".gone"}},
         "PrimaryContainer.ModelDataUrl"),
        ({"ModelName": "m", "PrimaryContainer": {**good, "Environment": {"LD_PRELOAD": "/x.so"}}}, "Environment"),
        ({"ModelName": "m", "PrimaryContainer": {**good, "ImageConfig": {}}}, "PrimaryContainer.ImageConfig"),
        ({"ModelName": "m", "PrimaryContainer": good, "VpcConfig": {}}, "VpcConfig"),
        ({"ModelName": "m", "PrimaryContainer": good, "Tags": []}, "Tags"),
        ({"ModelName": "../x", "PrimaryContainer": good}, "ModelName"),
    ]  # fmt: skip
    for request, field in cases:
        assert field in _refused(ops.create_model, request), request
    assert not ops.store.models()
    missing = _refused(ops.describe_model, {"ModelName": "nope"})
    assert missing == 'Could not find model "arn:aws:sagemaker:local:000000000000:model/nope".'
    assert "ModelName" in _refused(ops.describe_model, {"ModelName": "../x"})


def test_endpoint_configs_map_variants_shadows_and_capture(ops: HostingOperations, archive: Path) -> None:
    ops.create_model({"ModelName": "m", "PrimaryContainer": {"Image": "mlops/xgboost", "ModelDataUrl": str(archive)}})
    variant = {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    ops.create_endpoint_config(
        {
            "EndpointConfigName": "c",
            "ProductionVariants": [{**variant, "InitialVariantWeight": 2.0}, {**variant, "VariantName": "b"}],
            "ShadowProductionVariants": [{**variant, "VariantName": "s", "InitialVariantWeight": 1.5}],
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 50,
                "DestinationS3Uri": "s3://bucket/capture",
                "CaptureOptions": [{"CaptureMode": "Input"}],
            },
        }
    )
    config = ops.store.endpoint_config("c")
    assert [v.InitialVariantWeight for v in config.ProductionVariants] == [2.0, 1.0]
    assert config.ShadowProductionVariants[0].SamplingPercentage == 50.0
    assert config.DataCaptureConfig is not None and config.DataCaptureConfig.InitialSamplingPercentage == 50
    described = answer("DescribeEndpointConfig", ops.describe_endpoint_config({"EndpointConfigName": "c"}))
    assert "SamplingPercentage" not in described["ShadowProductionVariants"][0]  # ours: not SageMaker's
    assert described["DataCaptureConfig"]["CaptureOptions"] == [{"CaptureMode": "Input"}]
    for request, field in [
        ({"ProductionVariants": [{**variant, "ModelName": "nope"}]}, 'Could not find model "'),
        ({"ProductionVariants": [variant], "KmsKeyId": "k"}, "KmsKeyId"),
        ({"ProductionVariants": [{**variant, "ServerlessConfig": {}}]}, "ProductionVariants[0].ServerlessConfig"),
        ({"ProductionVariants": [variant], "DataCaptureConfig": {"DestinationS3Uri": "s3://b/../x",
          "CaptureOptions": [{"CaptureMode": "Input"}], "InitialSamplingPercentage": 1}},
         "DataCaptureConfig.DestinationS3Uri"),
        ({"ProductionVariants": [{**variant, "InitialVariantWeight": 0.0}]}, "endpoint config"),
    ]:  # fmt: skip
        assert field in _refused(ops.create_endpoint_config, {"EndpointConfigName": "c2", **request}), request
    assert "Cannot create already existing endpoint configuration" in _refused(
        ops.create_endpoint_config, {"EndpointConfigName": "c", "ProductionVariants": [variant]}
    )
    ops.delete_model({"ModelName": "m"})  # in use by c: allowed, as on SageMaker
    ops.delete_endpoint_config({"EndpointConfigName": "c"})
    assert _refused(ops.delete_endpoint_config, {"EndpointConfigName": "c"}).startswith(
        'Could not find endpoint configuration "arn:aws:sagemaker:local:000000000000:endpoint-config/c"'
    )


def test_shadow_sampling_follows_relative_weights() -> None:
    assert shadow_sampling([{"InitialVariantWeight": 1.0}], {"InitialVariantWeight": 1.0}) == 100.0
    assert shadow_sampling([{"InitialVariantWeight": 4.0}], {"InitialVariantWeight": 1.0}) == 25.0
    assert shadow_sampling([{"InitialVariantWeight": 1.0}], {"InitialVariantWeight": 3.0}) == 100.0


def test_deployment_configs_and_alarm_names() -> None:
    config = deployment_config(
        {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "LINEAR",
                    "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                    "WaitIntervalInSeconds": 5,
                },
                "TerminationWaitInSeconds": 10,
                "MaximumExecutionTimeoutInSeconds": 900,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "any-5xx"}]},
        }
    )
    policy = config.BlueGreenUpdatePolicy
    assert policy.TrafficRoutingConfiguration.Type is TrafficRoutingConfigType.LINEAR
    assert policy.TerminationWaitInSeconds == 10 and policy.MaximumExecutionTimeoutInSeconds == 900
    assert alarm_definitions(config, {"any-5xx": ALARM}) == (ALARM,)
    assert _refused(alarm_definitions, config, {}).startswith(
        "DeploymentConfig.AutoRollbackConfiguration.Alarms[0].AlarmName: 'any-5xx' is not an alarm"
    )
    routing = "DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration"
    for bad, field in [
        ({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY"}}}, routing),
        ({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "X"}}}, f"{routing}.Type"),
        ({"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 9999,
          "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}}, f"{routing}.WaitIntervalInSeconds"),
        ({"BlueGreenUpdatePolicy": {"TerminationWaitInSeconds": -1}}, "DeploymentConfig.BlueGreenUpdatePolicy."
         "TerminationWaitInSeconds"),
        ({"RollingUpdatePolicy": {}}, "DeploymentConfig.RollingUpdatePolicy"),
        ({"AutoRollbackConfiguration": {"Alarms": []}}, "DeploymentConfig.BlueGreenUpdatePolicy"),
    ]:  # fmt: skip
        assert _refused(deployment_config, bad).startswith(field), bad


def _endpoint(**changes: Any) -> Endpoint:
    base: dict[str, Any] = {
        "EndpointName": "e",
        "EndpointArn": "arn:aws:sagemaker:local:000000000000:endpoint/e",
        "EndpointConfigName": "c1",
        "EndpointStatus": EndpointStatus.InService,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    return Endpoint(**{**base, **changes})


def test_describe_endpoint_shows_the_pending_deployment_and_the_rollback_reason() -> None:
    target = EndpointConfig(
        EndpointConfigName="c2",
        EndpointConfigArn="arn",
        ProductionVariants=(ProductionVariant(VariantName="v", ModelName="m", InitialInstanceCount=2),),
        CreationTime=NOW,
    )
    deployment = DeploymentSummary(
        SourceEndpointConfigName="c1",
        TargetEndpointConfigName="c2",
        DeploymentConfig=deployment_config({"BlueGreenUpdatePolicy": {}}),
        Steps=(TrafficStep(StepNumber=1, NewFleetTrafficPercent=100, BakeSeconds=0, Description="all"),),
        NewFleetTrafficPercent=100.0,
        StartTime=NOW,
    )
    updating = answer("DescribeEndpoint", endpoint_answer(_endpoint(EndpointStatus="Updating", Deployment=deployment), target))
    pending = updating["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "c2" and pending["StartTime"] == NOW.timestamp()
    assert pending["ProductionVariants"][0] | {"VariantStatus": None} == {
        "VariantName": "v", "CurrentWeight": 1.0, "DesiredWeight": 1.0, "DesiredInstanceCount": 2, "VariantStatus": None,
    }  # fmt: skip
    assert "Deployment" not in updating and "CurrentDeploymentStep" not in updating  # ours, not SageMaker's
    rolled = deployment.model_copy(update={"Status": DeploymentStatus.RolledBack})
    back = answer("DescribeEndpoint", endpoint_answer(_endpoint(Deployment=rolled, LastRollbackReason="alarm x"), None))
    assert back["FailureReason"] == "alarm x" and "PendingDeploymentSummary" not in back
    failed = _endpoint(EndpointStatus="Failed", FailureReason="did not start", LastRollbackReason="old")
    assert answer("DescribeEndpoint", endpoint_answer(failed, None))["FailureReason"] == "did not start"


def test_lists_filter_sort_and_page() -> None:
    items = [("b", NOW), ("a", NOW + timedelta(seconds=1)), ("ab", NOW + timedelta(seconds=2))]
    kept = sort_and_filter(items, {"NameContains": "A"}, name=lambda i: i[0], created=lambda i: i[1])
    assert [i[0] for i in kept] == ["ab", "a"]  # SageMaker's default: CreationTime, Descending
    by_name = sort_and_filter(items, {"SortBy": "Name", "SortOrder": "Ascending"}, lambda i: i[0], lambda i: i[1])
    assert [i[0] for i in by_name] == ["a", "ab", "b"]
    after = sort_and_filter(items, {"CreationTimeAfter": NOW}, lambda i: i[0], lambda i: i[1])
    assert [i[0] for i in after] == ["ab", "a"]
    assert "SortBy" in _refused(sort_and_filter, items, {"SortBy": "Status"}, lambda i: i[0], lambda i: i[1])
    first, next_token = page(by_name, {"MaxResults": 2})
    assert [i[0] for i in first] == ["a", "ab"] and next_token is not None
    rest, end = page(by_name, {"MaxResults": 2, "NextToken": next_token})
    assert [i[0] for i in rest] == ["b"] and end is None
    for bad in ("garbage", token(-1), "eyJvZmZzZXQiOiB0cnVlfQ=="):  # the last: {"offset": true}
        assert "NextToken" in _refused(page, by_name, {"NextToken": bad})
