"""Hosting as a user meets it: a trained xgboost model behind ``mlops router``, created and deployed
with the CLI, invoked with boto3's sagemaker-runtime client, weighted and shadowed, captured, shifted
by a canary, rolled back by an alarm, all without a client seeing an error, and stopped cleanly."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.cli.hosting_flags import parse_capture, parse_shadow, parse_variant
from mlops.core.errors import ConflictError, MlopsError, ValidationError
from mlops.core.training import TrainingJobStatus
from mlops.data.churn_sample import DemoFiles
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.services.hosting import deployment_config
from mlops.services.hosting_wiring import create_endpoint_config, create_model
from mlops.services.training import TrainingInput, train
from mlops.serving.capture import read_capture
from mlops.settings import Settings
from tests.integration.test_hosting_support import ROW, ContinuousClient, Hosting, alive, wait_until

pytestmark = pytest.mark.integration

XGB = {"objective": "binary:logistic", "num_round": "20", "max_depth": "3", "eta": "0.3", "nthread": "1"}
ALARMS = """alarms:
  - name: always
    metric: ModelLatency
    statistic: p50
    threshold: 1
    window_seconds: 30
    min_invocations: 1
  - name: error-rate
    metric: Invocation5XXErrors
    statistic: Rate
    threshold: 0.01
    window_seconds: 30
    min_invocations: 5
"""


@pytest.fixture(scope="module")
def hosting(tmp_path_factory: pytest.TempPathFactory, churn: DemoFiles) -> Iterator[Hosting]:
    root = tmp_path_factory.mktemp("hosting")
    h = Hosting(root / "home")
    h.start()  # while the model trains
    settings = Settings(home=h.home)
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    job = train(LocalProcessRuntime(settings.jobs_dir, catalog, 5), catalog,
                TrainingInput("xgboost", {"train": str(churn.train), "validation": str(churn.validation)}, XGB),
                settings.artifacts)
    assert job.TrainingJobStatus is TrainingJobStatus.Completed and job.ModelArtifacts is not None
    (root / "alarms.yaml").write_text(ALARMS)
    out = h.cli("models", "create", "churn-v1", "--algorithm", "xgboost", "--model-data",
                job.ModelArtifacts.S3ModelArtifacts).stdout
    assert f"sha256: {job.ModelArtifactSha256}" in out  # looked up from the training job
    refused = h.cli("endpoint-configs", "create", "cfg-ab", "--variant", "name=blue,model=churn-v1,weight=1",
                    "--variant", "name=green,model=churn-v2,weight=1", check=False)
    assert refused.returncode == 2 and "model 'churn-v2' not found" in refused.stderr
    # the rest through the same service calls the CLI makes, in-process (each CLI start costs a second or two)
    model = create_model(settings, "churn-v2", job.ModelArtifacts.S3ModelArtifacts, algorithm="xgboost")
    assert model.ModelDataSha256 == job.ModelArtifactSha256
    capture = parse_capture(f"sampling=100,dest={root / 'capture'}", settings)
    create_endpoint_config(settings, "cfg-ab", [parse_variant("name=blue,model=churn-v1,weight=1"),
                                                parse_variant("name=green,model=churn-v2,weight=1")], [], capture)
    create_endpoint_config(settings, "cfg-2", [parse_variant("name=v2,model=churn-v2")],
                           [parse_shadow("name=shadow,model=churn-v1,sampling=100")], capture)
    create_endpoint_config(settings, "cfg-3", [parse_variant("name=v3,model=churn-v1")])
    out = h.cli("endpoints", "create", "churn", "--config", "cfg-ab").stdout
    assert "InService" in out
    yield h
    h.close()


def runtime_client(hosting: Hosting):  # type: ignore[no-untyped-def]
    return boto3.client("sagemaker-runtime", endpoint_url=hosting.url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def test_boto3_invoke_endpoint_against_the_router(hosting: Hosting) -> None:
    client = runtime_client(hosting)
    seen = set()
    for i in range(40):
        answer = client.invoke_endpoint(EndpointName="churn", Body=ROW.encode(), ContentType="text/csv",
                                        Accept="application/json", CustomAttributes="trace=abc",
                                        InferenceId=f"req-{i}")
        seen.add(answer["InvokedProductionVariant"])
        score = json.loads(answer["Body"].read())["predictions"][0]["score"]
        assert 0.0 <= score <= 1.0 and answer["ContentType"] == "application/json"
    assert seen == {"blue", "green"}  # weights 1:1
    targeted = {client.invoke_endpoint(EndpointName="churn", Body=ROW.encode(), ContentType="text/csv",
                                       TargetVariant="green")["InvokedProductionVariant"] for _ in range(10)}
    assert targeted == {"green"}


def test_bad_input_gets_a_clear_4xx_and_the_router_stays_up(hosting: Hosting) -> None:
    client = runtime_client(hosting)
    with pytest.raises(client.exceptions.ModelError) as e:
        client.invoke_endpoint(EndpointName="churn", Body=b"1,2,3", ContentType="text/csv")
    assert e.value.response["OriginalStatusCode"] == 400
    assert "each row needs 22 features; got 3" in e.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.ModelError) as e:
        client.invoke_endpoint(EndpointName="churn", Body=b"<row/>", ContentType="application/xml")
    assert e.value.response["OriginalStatusCode"] == 415
    with pytest.raises(client.exceptions.ModelError) as e:
        client.invoke_endpoint(EndpointName="churn", Body=b'{"instances": [[1, 2', ContentType="application/json")
    assert e.value.response["OriginalStatusCode"] == 400
    with pytest.raises(client.exceptions.ValidationError, match="Endpoint nope of account 000000000000 not found"):
        client.invoke_endpoint(EndpointName="nope", Body=ROW.encode(), ContentType="text/csv")
    with pytest.raises(client.exceptions.ValidationError, match="TargetVariant purple is not a production variant"):
        client.invoke_endpoint(EndpointName="churn", Body=ROW.encode(), ContentType="text/csv",
                               TargetVariant="purple")
    status, headers, body = hosting.invoke("churn", body="0," * (3 * 1024 * 1024 + 10))  # 6 MB + 20 bytes
    assert status == 413 and headers["x-amzn-errortype"] == "ValidationError"
    assert b"over the 6291456-byte limit of InvokeEndpoint" in body
    # still serving, through the SageMaker route and the contract's plain route alike
    assert client.invoke_endpoint(EndpointName="churn", Body=ROW.encode(), ContentType="text/csv")["Body"].read()
    request = urllib.request.Request(f"{hosting.url}/invocations", data=ROW.encode(), method="POST",
                                     headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200 and r.headers["x-Amzn-Invoked-Production-Variant"] in ("blue", "green")


def test_update_weights_and_capacity_in_place_without_dropping_a_request(hosting: Hosting) -> None:
    with ContinuousClient(hosting.port, "churn") as client:
        out = hosting.cli("endpoints", "update-weights", "churn", "--variant", "blue=1:2", "--variant", "green=0").stdout
        time.sleep(0.5)
    assert client.total > 20 and client.errors == [], client.errors[:5]
    assert re.search(r"^ +blue +churn-v1 +1 / 1 +2 / 2$", out, re.M), out  # weight now/desired, instances now/desired
    record = hosting.describe("churn")
    weights = {v["VariantName"]: (v["CurrentWeight"], v["CurrentInstanceCount"]) for v in record["ProductionVariants"]}
    assert weights == {"blue": (1.0, 2), "green": (0.0, 1)}
    assert len(hosting.pids("churn", "blue")) == 2
    variants = {hosting.invoke("churn")[1]["x-amzn-invoked-production-variant"] for _ in range(30)}
    assert variants == {"blue"}
    headers = {"X-Amzn-SageMaker-Target-Variant": "green"}
    assert hosting.invoke("churn", headers=headers)[1]["x-amzn-invoked-production-variant"] == "green"


def test_canary_with_a_shadow_shifts_all_traffic_with_zero_errors_and_captures_both_answers(hosting: Hosting) -> None:
    old = hosting.pids("churn")
    started = datetime.now(UTC)
    with ContinuousClient(hosting.port, "churn") as client:
        result = hosting.cli("endpoints", "update", "churn", "--config", "cfg-2", "--strategy", "canary",
                             "--canary-size", "50%", "--wait-interval", "2", "--termination-wait", "1",
                             "--alarm", "error-rate", "--alarms-file", str(hosting.home.parent / "alarms.yaml"))
        time.sleep(0.5)
    assert client.errors == [], client.errors[:5]
    assert client.variants["blue"] > 0 and client.variants["v2"] > 0
    assert "step 1/2: canary 50%" in result.stdout and "InService" in result.stdout
    record = hosting.describe("churn")
    assert record["EndpointConfigName"] == "cfg-2" and record["EndpointStatus"] == "InService"
    deployment = record["Deployment"]
    assert deployment["Status"] == "Completed" and [s["NewFleetTrafficPercent"] for s in deployment["Steps"]] == [
        50.0, 100.0]
    assert record["LastDeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": "error-rate"}]
    assert [v["VariantName"] for v in record["ShadowProductionVariants"]] == ["shadow"]
    assert not any(alive(p) for p in old)  # the old fleet is gone after the termination wait

    for _ in range(20):
        assert hosting.invoke("churn")[0] == 200
    dest = str(hosting.home.parent / "capture")

    def captured() -> list:  # type: ignore[type-arg]
        return list(read_capture(dest, "churn", started - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1)))

    def shadows_arrived() -> bool:
        records = captured()
        production = {r.eventMetadata.eventId for r in records if r.mlopsMetadata.variantName == "v2"}
        shadows = [r for r in records if r.mlopsMetadata.shadow]
        return len(production) >= 20 and len([s for s in shadows if s.mlopsMetadata.productionEventId in production]
                                              ) >= 20
    wait_until(shadows_arrived, 10, "the shadow's answers in the capture")
    records = captured()
    by_id = {r.eventMetadata.eventId: r for r in records}
    shadow = next(r for r in records if r.mlopsMetadata.shadow)
    production = by_id[shadow.mlopsMetadata.productionEventId]
    assert production.mlopsMetadata.variantName == "v2" and shadow.mlopsMetadata.variantName == "shadow"
    assert shadow.captureData.endpointInput.data == production.captureData.endpointInput.data == ROW
    assert shadow.captureData.endpointOutput.data == production.captureData.endpointOutput.data  # same model file
    assert {r.mlopsMetadata.variantName for r in records} >= {"blue", "v2", "shadow"}


def test_an_alarm_rolls_a_linear_deployment_back_with_zero_errors(hosting: Hosting) -> None:
    with ContinuousClient(hosting.port, "churn") as client:
        result = hosting.cli("endpoints", "update", "churn", "--config", "cfg-3", "--strategy", "linear",
                             "--linear-step", "50%", "--wait-interval", "2", "--alarm", "always",
                             "--alarms-file", str(hosting.home.parent / "alarms.yaml"), check=False)
        time.sleep(0.5)
    assert result.returncode == 1, result.stdout + result.stderr
    assert client.errors == [], client.errors[:5]
    assert client.variants["v3"] > 0  # the new fleet did get its step of traffic before the alarm
    record = hosting.describe("churn")
    assert record["EndpointStatus"] == "InService" and record["EndpointConfigName"] == "cfg-2"
    assert record["Deployment"]["Status"] == "RolledBack"
    assert "alarm always: ModelLatency p50 of variant v3" in record["LastRollbackReason"]
    assert "last rollback: step 1" in result.stdout
    assert hosting.pids("churn", "v3") == []
    assert hosting.invoke("churn")[1]["x-amzn-invoked-production-variant"] == "v2"


def test_updates_refused_with_a_reason(hosting: Hosting) -> None:
    bad = hosting.cli("endpoints", "update", "churn", "--config", "cfg-3", "--strategy", "canary", "--canary-size",
                      "80%", check=False)
    assert bad.returncode == 2 and "at most 50%" in bad.stderr
    bad = hosting.cli("endpoint-configs", "create", "cfg-x", "--variant", "name=a,model=ghost", check=False)
    assert bad.returncode == 2 and "model 'ghost' not found" in bad.stderr
    client = hosting.client()
    with pytest.raises(MlopsError, match="endpoint config 'cfg-404' not found"):
        client.update_endpoint("churn", "cfg-404", None)
    with pytest.raises(ValidationError, match="nope not defined"):
        client.update_endpoint("churn", "cfg-3", deployment_config(alarms=["nope"]),
                               hosting.home.parent / "alarms.yaml")
    with pytest.raises(ValidationError, match="'purple' is not a production variant"):
        client.update_weights("churn", {"purple": 1.0}, {})
    with pytest.raises(ConflictError, match="already exists"):
        client.create_endpoint("churn", "cfg-3")
    with pytest.raises(MlopsError, match="endpoint 'ghost' not found"):
        client.describe("ghost")


def test_the_cli_invokes_lists_and_describes(hosting: Hosting) -> None:
    out = hosting.cli("invoke", "churn", "--body", ROW, "--show-variant")
    assert 0.0 <= float(out.stdout.strip()) <= 1.0 and "variant: v2" in out.stderr
    bad = hosting.cli("invoke", "churn", "--body", "1,2", check=False)
    assert bad.returncode == 1 and "ModelError: Received client error (400)" in bad.stderr
    text = hosting.cli("endpoints", "describe", "churn").stdout
    assert "status:        InService" in text and "config:        cfg-2" in text
    assert "shadow:        shadow" in text and "last rollback: step 1" in text
    assert " written, 0 failed, 0 dropped, " in text  # the capture writer's counts for this endpoint
    statistics = hosting.describe("churn")["DataCaptureConfig"]["CaptureStatistics"]
    assert statistics["WrittenRecords"] > 0 and statistics["FailedRecords"] == 0 and statistics["LastError"] is None


def test_metrics_in_prometheus_text(hosting: Hosting) -> None:
    with urllib.request.urlopen(f"{hosting.url}/metrics", timeout=10) as r:
        text = r.read().decode()
    assert 'mlops_invocations_total{endpoint="churn",variant="v2",config="cfg-2",role="production"}' in text
    assert 'mlops_invocations_total{endpoint="churn",variant="shadow",config="cfg-2",role="shadow"}' in text
    assert 'quantile="0.99"' in text and "mlops_overhead_latency_seconds_sum" in text
    assert 'mlops_fleet_traffic_share{endpoint="churn",config="cfg-2"} 1.0' in text
    assert 'mlops_capture_failed_total{endpoint="churn"} 0' in text
    assert 'mlops_capture_queue_bytes{endpoint="churn"}' in text and 'mlops_capture_records_total{endpoint="churn"}' in text


def test_a_clean_stop_stops_every_model_server(hosting: Hosting) -> None:
    pids = hosting.pids()
    assert len(pids) == 2  # v2 and its shadow
    assert hosting.stop(signal.SIGTERM) == 0
    assert not any(alive(p) for p in pids)
    assert json.loads((hosting.home / "hosting" / "instances.json").read_text())["Instances"] == []
