"""SageMaker's own training API on `mlops router`, driven by unchanged boto3: create, wait with boto3's
waiter, describe, list with pagination, stop; its errors as SageMaker answers them; SigV4 refusals of
unsigned and forged requests; botocore's model validating what a client with validation off sends."""

from __future__ import annotations

import http.client
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from mlops.data.churn_sample import DemoFiles
from mlops.hosting.credentials import ControlCredentials
from mlops.store.interface import open_store
from tests.conftest import make_bucket
from tests.integration.sagemaker_api_support import FAST_WAIT, REGION, client, create_request, fits
from tests.integration.test_hosting_support import Hosting

pytestmark = pytest.mark.integration



@pytest.fixture(scope="module")
def router(sagemaker_router: Hosting) -> Hosting:
    return sagemaker_router


@pytest.fixture(scope="module")
def sm(router: Hosting):  # type: ignore[no-untyped-def]
    return client(router)


def test_train_wait_describe_list_with_unchanged_boto3(sm, churn: DemoFiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    created = sm.create_training_job(**create_request("api-churn-1", churn, str(tmp_path / "out")))
    assert created["TrainingJobArn"].endswith(":training-job/api-churn-1")
    assert fits(sm, "CreateTrainingJob", created) == []
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="api-churn-1", WaiterConfig=FAST_WAIT)
    job = sm.describe_training_job(TrainingJobName="api-churn-1")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith("api-churn-1/output/model.tar.gz")
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert "validation:auc" in metrics and 0.5 < metrics["validation:auc"] <= 1.0
    assert isinstance(job["CreationTime"], datetime) and job["TrainingEndTime"] >= job["TrainingStartTime"]
    assert job["HyperParameters"]["num_round"] == "5"
    assert fits(sm, "DescribeTrainingJob", job) == []

    sm.create_training_job(**create_request("api-churn-2", churn, str(tmp_path / "out")))
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="api-churn-2", WaiterConfig=FAST_WAIT)
    first = sm.list_training_jobs(MaxResults=1, NameContains="api-churn", SortBy="Name", SortOrder="Ascending")
    assert [s["TrainingJobName"] for s in first["TrainingJobSummaries"]] == ["api-churn-1"]
    assert "NextToken" in first and fits(sm, "ListTrainingJobs", first) == []
    second = sm.list_training_jobs(
        MaxResults=1, NameContains="api-churn", SortBy="Name", SortOrder="Ascending", NextToken=first["NextToken"]
    )
    assert [s["TrainingJobName"] for s in second["TrainingJobSummaries"]] == ["api-churn-2"]
    assert "NextToken" not in second
    pages = sm.get_paginator("list_training_jobs").paginate(
        NameContains="API-CHURN", SortBy="CreationTime", SortOrder="Descending", PaginationConfig={"PageSize": 1}
    )
    names = [s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]]
    assert names == ["api-churn-2", "api-churn-1"]
    done = sm.list_training_jobs(StatusEquals="Completed", NameContains="api-churn")
    assert {s["TrainingJobStatus"] for s in done["TrainingJobSummaries"]} == {"Completed"}
    assert sm.list_training_jobs(StatusEquals="Failed", NameContains="api-churn")["TrainingJobSummaries"] == []
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert sm.list_training_jobs(CreationTimeAfter=later)["TrainingJobSummaries"] == []

    with pytest.raises(ClientError) as e:
        sm.create_training_job(**create_request("api-churn-1", churn, str(tmp_path / "out")))
    assert e.value.response["Error"]["Code"] == "ResourceInUse"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        sm.stop_training_job(TrainingJobName="api-churn-1")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "status Completed" in e.value.response["Error"]["Message"]


def test_a_notebook_written_for_sagemaker_trains_unchanged(sm, churn: DemoFiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The image URI the SageMaker SDK gives for its built-in xgboost and an ml.* instance type, as in a
    notebook written for SageMaker: the job runs the local xgboost with the type's limits."""
    from sagemaker.core import image_uris

    request = create_request("api-notebook", churn, str(tmp_path / "out"))
    request["AlgorithmSpecification"]["TrainingImage"] = image_uris.retrieve("xgboost", REGION, "1.7-1")
    request["ResourceConfig"] = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5}
    sm.create_training_job(**request)
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="api-notebook", WaiterConfig=FAST_WAIT)
    job = sm.describe_training_job(TrainingJobName="api-notebook")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith("model.tar.gz")
    assert not fits(sm, "DescribeTrainingJob", job)
    starting = job["SecondaryStatusTransitions"][0]
    assert starting["Status"] == "Starting"
    assert "ml.m5.large (2 vCPU, 8 GiB) runs on the local runtime of this machine with" in starting["StatusMessage"]


def test_stop_a_long_job(sm, churn: DemoFiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sm.create_training_job(**create_request("api-long", churn, str(tmp_path / "out"), num_round="100000"))
    deadline = time.monotonic() + 60
    while sm.describe_training_job(TrainingJobName="api-long")["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline, "the job never started training"
        time.sleep(0.5)
    assert fits(sm, "StopTrainingJob", sm.stop_training_job(TrainingJobName="api-long")) == []
    assert sm.describe_training_job(TrainingJobName="api-long")["TrainingJobStatus"] in ("Stopping", "Stopped")
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="api-long", WaiterConfig=FAST_WAIT)
    assert sm.describe_training_job(TrainingJobName="api-long")["TrainingJobStatus"] == "Stopped"


def test_unknown_job_and_unmappable_image(sm, churn: DemoFiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for call in (sm.describe_training_job, sm.stop_training_job):
        with pytest.raises(ClientError) as e:
            call(TrainingJobName="no-such-job")
        assert e.value.response["Error"] == {"Code": "ValidationException", "Message": "Requested resource not found."}
    request = create_request("api-ecr", churn, str(tmp_path / "out"))
    request["AlgorithmSpecification"]["TrainingImage"] = "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7-1"
    with pytest.raises(ClientError) as e:
        sm.create_training_job(**request)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "AlgorithmSpecification.TrainingImage" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        sm.describe_training_job(TrainingJobName="api-ecr")
    assert e.value.response["Error"]["Message"] == "Requested resource not found."  # nothing was recorded


def test_botocore_model_validates_what_a_client_without_validation_sends(router, churn, tmp_path) -> None:  # type: ignore[no-untyped-def]
    loose = client(router, parameter_validation=False)
    request = create_request("api-bad", churn, str(tmp_path / "out"))
    del request["RoleArn"]
    with pytest.raises(ClientError) as e:
        loose.create_training_job(**request)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "RoleArn" in e.value.response["Error"]["Message"]
    request = create_request("api-bad", churn, str(tmp_path / "out"))
    request["ResourceConfig"]["InstanceCount"] = "two"
    with pytest.raises(ClientError) as e:
        loose.create_training_job(**request)
    assert "ResourceConfig.InstanceCount" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        loose.list_training_jobs(MaxResults=0)
    assert (
        e.value.response["Error"]["Code"] == "ValidationException"
        and "MaxResults" in e.value.response["Error"]["Message"]
    )


# --- authentication ------------------------------------------------------------------------------------


def signed(
    router: Hosting,
    body: bytes,
    target: str = "SageMaker.ListTrainingJobs",
    secret: str | None = None,
    when: datetime | None = None,
) -> AWSRequest:
    creds = ControlCredentials.for_home(router.home)
    request = AWSRequest(
        method="POST",
        url=f"{router.url}/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    signer = SigV4Auth(Credentials(creds.AccessKeyId, secret or creds.SecretAccessKey), "sagemaker", REGION)
    if when is None:
        signer.add_auth(request)
    else:
        request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        request.headers["X-Amz-Date"] = request.context["timestamp"]
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
            f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}"
        )
    return request


def send(router: Hosting, headers: dict[str, str], body: bytes) -> tuple[int, str, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
    connection.request("POST", "/", body=body, headers=headers)
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    return response.status, response.getheader("content-type") or "", payload


def test_signed_request_passes_and_forgeries_are_refused(router: Hosting) -> None:
    good = signed(router, b"{}")
    status, content_type, payload = send(router, dict(good.headers.items()), b"{}")
    assert status == 200 and content_type == "application/x-amz-json-1.1" and "TrainingJobSummaries" in payload

    cases: list[tuple[str, dict[str, str], bytes, str]] = []
    unsigned = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.ListTrainingJobs"}
    cases.append(("unsigned", unsigned, b"{}", "MissingAuthenticationTokenException"))
    wrong_secret = signed(router, b"{}", secret="x" * 40)
    cases.append(("wrong secret", dict(wrong_secret.headers.items()), b"{}", "InvalidSignatureException"))
    body = json.dumps({"TrainingJobName": "api-churn-1"}).encode()
    describe = signed(router, body, "SageMaker.DescribeTrainingJob")
    swapped = {**dict(describe.headers.items()), "X-Amz-Target": "SageMaker.StopTrainingJob"}
    cases.append(("target swapped under a signature", swapped, body, "InvalidSignatureException"))
    cases.append(
        (
            "body changed under a signature",
            dict(describe.headers.items()),
            json.dumps({"TrainingJobName": "api-churn-2"}).encode(),
            "InvalidSignatureException",
        )
    )
    other_key = {**dict(good.headers.items())}
    other_key["Authorization"] = other_key["Authorization"].replace(
        ControlCredentials.for_home(router.home).AccessKeyId, "AKIAAAAAAAAAAAAAAAAA"
    )
    cases.append(("another key id", other_key, b"{}", "UnrecognizedClientException"))
    old = signed(router, b"{}", when=datetime.now(UTC) - timedelta(minutes=20))
    cases.append(("signed 20 minutes ago", dict(old.headers.items()), b"{}", "InvalidSignatureException"))
    for label, headers, sent, code in cases:
        status, content_type, payload = send(router, headers, sent)
        assert (status, payload["__type"]) == (403, code), label
        assert content_type == "application/x-amz-json-1.1", label


def test_boto3_with_wrong_keys_gets_client_errors(router: Hosting) -> None:
    creds = ControlCredentials.for_home(router.home)
    for key_id, secret, code in (
        (creds.AccessKeyId, "x" * 40, "InvalidSignatureException"),
        ("AKIAAAAAAAAAAAAAAAAA", creds.SecretAccessKey, "UnrecognizedClientException"),
    ):
        sm = boto3.client(
            "sagemaker",
            endpoint_url=router.url,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}),
        )
        with pytest.raises(ClientError) as e:
            sm.list_training_jobs()
        assert e.value.response["Error"]["Code"] == code
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_control_routes_still_answer(router: Hosting) -> None:
    assert router.client().health().endpoints == 0


def test_host_guard_comes_first(router: Hosting) -> None:
    good = signed(router, b"{}")
    rebound = {**dict(good.headers.items()), "Host": "attacker.example"}
    connection = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
    connection.request("POST", "/", body=b"{}", headers=rebound)
    assert connection.getresponse().status == 421
    connection.close()


def test_list_refuses_values_outside_the_models_enums(router: Hosting) -> None:
    loose = client(router, parameter_validation=False)
    for params, field in (
        ({"SortBy": "Size"}, "SortBy"),
        ({"SortOrder": "Up"}, "SortOrder"),
        ({"StatusEquals": "Done"}, "StatusEquals"),
    ):
        with pytest.raises(ClientError) as e:
            loose.list_training_jobs(**params)
        assert e.value.response["Error"]["Code"] == "ValidationException"
        assert e.value.response["Error"]["Message"].startswith(field)


def test_s3_channels_and_output_through_the_artifact_store(
    s3_endpoint: str, churn: DemoFiles, tmp_path_factory: pytest.TempPathFactory
) -> None:
    make_bucket(s3_endpoint, "mlops-test")
    store = open_store("s3://mlops-test")
    store.put_file(churn.train, "s3://mlops-test/api/train/part-0.csv")
    store.put_file(churn.validation, "s3://mlops-test/api/validation/part-0.csv")
    h = Hosting(tmp_path_factory.mktemp("sagemaker-api-s3") / "home")  # its environment points S3 at moto
    h.start()
    try:
        sm = client(h)
        request = create_request("api-s3", churn, "s3://mlops-test/api/models")
        request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://mlops-test/api/train/"
        request["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://mlops-test/api/validation"
        sm.create_training_job(**request)
        sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="api-s3", WaiterConfig=FAST_WAIT)
        job = sm.describe_training_job(TrainingJobName="api-s3")
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        uri = job["ModelArtifacts"]["S3ModelArtifacts"]
        assert uri == "s3://mlops-test/api/models/api-s3/output/model.tar.gz" and store.exists(uri)
    finally:
        assert h.stop() == 0


def test_only_a_post_with_a_sagemaker_target_reaches_the_api(router: Hosting) -> None:
    for method, target in (("GET", "SageMaker.ListTrainingJobs"), ("POST", "AmazonS3.ListBuckets")):
        connection = http.client.HTTPConnection("127.0.0.1", router.port, timeout=30)
        connection.request(method, "/", body=b"{}", headers={"X-Amz-Target": target})
        response = connection.getresponse()
        assert (response.status, response.getheader("content-type")) == (404, "text/plain"), (method, target)
        connection.close()


def test_boto3_reads_the_homes_credentials_file(router: Hosting, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(ControlCredentials.for_home(router.home).path))
    sm = boto3.session.Session().client("sagemaker", endpoint_url=router.url, region_name=REGION)
    assert "TrainingJobSummaries" in sm.list_training_jobs(MaxResults=1)
