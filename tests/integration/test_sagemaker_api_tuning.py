"""SageMaker's own tuning API on `mlops router`, driven by unchanged boto3: a Bayesian tuning job with early
stopping Auto on the churn sample, waited for by polling DescribeHyperParameterTuningJob (boto3 has no
tuning waiter), its best job checked against ListTrainingJobsForHyperParameterTuningJob, its training jobs
seen by DescribeTrainingJob, pagination, stopping a running tuning job, and hostile input refused naming
the field. Every answer is checked against botocore's output shape."""

from __future__ import annotations

import copy
import json
import os
import signal
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops.data.churn_sample import DemoFiles
from tests.integration.sagemaker_api_support import FAST_WAIT, client, fits
from tests.integration.test_hosting_support import Hosting

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sm(sagemaker_router: Hosting):  # type: ignore[no-untyped-def]
    return client(sagemaker_router)


def tuning_request(name: str, churn: DemoFiles, output: str, jobs: int = 3, parallel: int = 2) -> dict[str, Any]:
    channel = lambda n, p: {  # noqa: E731
        "ChannelName": n,
        "ContentType": "text/csv",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(p)}},
    }
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
                ],
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "5"}],
            },
            "TrainingJobEarlyStoppingType": "Auto",
            "RandomSeed": 1,
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": "mlops/xgboost:latest", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::000000000000:role/local",
            "StaticHyperParameters": {"objective": "binary:logistic", "num_round": "5", "nthread": "1"},
            "InputDataConfig": [channel("train", churn.train), channel("validation", churn.validation)],
            "OutputDataConfig": {"S3OutputPath": output},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }


def wait_tuning(sm: Any, name: str, timeout: float = 420) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        assert fits(sm, "DescribeHyperParameterTuningJob", job) == []
        if job["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped"):
            return job  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"{name} still {job['HyperParameterTuningJobStatus']}"
        time.sleep(1)


def test_boto3_tunes_the_churn_sample_bayesian_with_early_stopping(sm, churn: DemoFiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert not any("tuning" in w for w in sm.waiter_names)  # boto3 has no tuning waiter: callers poll
    created = sm.create_hyper_parameter_tuning_job(**tuning_request("api-tune-1", churn, str(tmp_path / "out")))
    assert created["HyperParameterTuningJobArn"].endswith(":hyper-parameter-tuning-job/api-tune-1")
    assert fits(sm, "CreateHyperParameterTuningJob", created) == []
    job = wait_tuning(sm, "api-tune-1")
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"]["Completed"] == 3
    assert job["ObjectiveStatusCounters"]["Succeeded"] == 3
    assert job["HyperParameterTuningEndTime"] >= job["CreationTime"]
    config = job["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian" and config["TrainingJobEarlyStoppingType"] == "Auto"
    assert config["ParameterRanges"]["ContinuousParameterRanges"][0]["ScalingType"] == "Logarithmic"
    assert job["TrainingJobDefinition"]["RoleArn"] == "arn:aws:iam::000000000000:role/local"
    assert job["TrainingJobDefinition"]["ResourceConfig"]["InstanceType"] == "ml.m5.large"

    ranked = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="api-tune-1", SortBy="FinalObjectiveMetricValue", SortOrder="Descending"
    )
    assert fits(sm, "ListTrainingJobsForHyperParameterTuningJob", ranked) == []
    summaries = ranked["TrainingJobSummaries"]
    assert len(summaries) == 3
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert values == sorted(values, reverse=True)
    best = job["BestTrainingJob"]
    assert best["TrainingJobName"] == summaries[0]["TrainingJobName"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == values[0]
    assert best["ObjectiveStatus"] == "Succeeded" and set(best["TunedHyperParameters"]) == {"eta", "max_depth"}
    for s in summaries:  # the child jobs are ordinary training jobs
        child = sm.describe_training_job(TrainingJobName=s["TrainingJobName"])
        assert fits(sm, "DescribeTrainingJob", child) == []
        assert child["TrainingJobStatus"] == "Completed" and child["TrainingJobArn"] == s["TrainingJobArn"]
        assert child["HyperParameters"]["eta"] == s["TunedHyperParameters"]["eta"]
        assert child["HyperParameters"]["num_round"] == "5"

    first = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="api-tune-1", MaxResults=2, SortBy="Name"
    )
    assert len(first["TrainingJobSummaries"]) == 2 and "NextToken" in first
    rest = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="api-tune-1", MaxResults=2, SortBy="Name", NextToken=first["NextToken"]
    )
    names = [s["TrainingJobName"] for s in first["TrainingJobSummaries"] + rest["TrainingJobSummaries"]]
    assert names == sorted(s["TrainingJobName"] for s in summaries) and "NextToken" not in rest
    none_failed = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="api-tune-1", StatusEquals="Failed"
    )
    assert none_failed["TrainingJobSummaries"] == []

    listed = sm.list_hyper_parameter_tuning_jobs(NameContains="api-tune-1", StatusEquals="Completed")
    assert fits(sm, "ListHyperParameterTuningJobs", listed) == []
    [summary] = listed["HyperParameterTuningJobSummaries"]
    assert summary["Strategy"] == "Bayesian" and summary["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 3

    with pytest.raises(ClientError) as e:
        sm.create_hyper_parameter_tuning_job(**tuning_request("api-tune-1", churn, str(tmp_path / "out")))
    assert e.value.response["Error"]["Code"] == "ResourceInUse"
    with pytest.raises(ClientError) as e:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-1")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "status Completed" in e.value.response["Error"]["Message"]


def test_stop_a_running_tuning_job_and_list_with_pagination(sm, churn: DemoFiles, tmp_path) -> None:  # type: ignore[no-untyped-def]
    request = tuning_request("api-tune-stop", churn, str(tmp_path / "out"), jobs=4, parallel=1)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "100000"
    sm.create_hyper_parameter_tuning_job(**request)
    deadline = time.monotonic() + 60
    while not sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-stop")[
        "TrainingJobSummaries"
    ]:
        assert time.monotonic() < deadline, "the tuning job started no training job"
        time.sleep(0.5)
    running = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-stop")
    child_name = running["TrainingJobSummaries"][0]["TrainingJobName"]
    # stop once the job trains (as test_stop_a_long_job does): a supervisor signalled while it starts up dies
    while sm.describe_training_job(TrainingJobName=child_name)["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline, "the training job never started training"
        time.sleep(0.5)
    assert fits(sm, "ListTrainingJobsForHyperParameterTuningJob", running) == []
    assert running["TrainingJobSummaries"][0]["ObjectiveStatus"] == "Pending"
    asked = time.monotonic()
    stopped = sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-stop")
    assert time.monotonic() - asked < 5, "StopHyperParameterTuningJob waited for a Stopping never recorded"
    assert fits(sm, "StopHyperParameterTuningJob", stopped) == []
    status = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-stop")
    assert status["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    job = wait_tuning(sm, "api-tune-stop", timeout=120)
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    [child] = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-stop")[
        "TrainingJobSummaries"
    ]
    assert child["TrainingJobStatus"] == "Stopped"

    pages = sm.get_paginator("list_hyper_parameter_tuning_jobs").paginate(
        NameContains="API-TUNE", SortBy="Name", SortOrder="Descending", PaginationConfig={"PageSize": 1}
    )
    names = [s["HyperParameterTuningJobName"] for page in pages for s in page["HyperParameterTuningJobSummaries"]]
    assert names[:1] == ["api-tune-stop"] and names == sorted(names, reverse=True)
    assert (
        sm.list_hyper_parameter_tuning_jobs(NameContains="api-tune-stop", StatusEquals="Completed")[
            "HyperParameterTuningJobSummaries"
        ]
        == []
    )


def test_unknown_tuning_job_is_resource_not_found(sm) -> None:  # type: ignore[no-untyped-def]
    for call in (
        sm.describe_hyper_parameter_tuning_job,
        sm.stop_hyper_parameter_tuning_job,
        sm.list_training_jobs_for_hyper_parameter_tuning_job,
    ):
        with pytest.raises(ClientError) as e:
            call(HyperParameterTuningJobName="no-such-tuning")
        assert e.value.response["Error"]["Code"] == "ResourceNotFound"
        assert "no-such-tuning" in e.value.response["Error"]["Message"]


def test_hostile_tuning_requests_are_refused_naming_the_field(sm, sagemaker_router, churn, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = tuning_request("api-tune-bad", churn, str(tmp_path / "out"))
    loose = client(sagemaker_router, parameter_validation=False)

    def refused(request: dict[str, Any], field: str, via: Any = sm) -> str:
        with pytest.raises(ClientError) as e:
            via.create_hyper_parameter_tuning_job(**request)
        assert e.value.response["Error"]["Code"] == "ValidationException", e.value.response
        message: str = e.value.response["Error"]["Message"]
        assert field in message, message
        return message

    path = copy.deepcopy(base)
    path["HyperParameterTuningJobName"] = "../../etc"
    refused(path, "HyperParameterTuningJobName")
    with pytest.raises(ClientError) as e:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="a/../b")
    assert "HyperParameterTuningJobName" in e.value.response["Error"]["Message"]

    inverted = copy.deepcopy(base)
    inverted["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"][0].update(
        MinValue="0.9", MaxValue="0.1"
    )
    message = refused(inverted, "HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0]")
    assert "MinValue 0.9 > MaxValue 0.1" in message

    unknown = copy.deepcopy(base)
    unknown["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"][0]["Name"] = "no_such_hp"
    refused(unknown, "HyperParameterTuningJobConfig.ParameterRanges (Name no_such_hp)")

    static = copy.deepcopy(base)
    static["TrainingJobDefinition"]["StaticHyperParameters"]["no_such_static"] = "1"
    refused(static, "TrainingJobDefinition.StaticHyperParameters.no_such_static")

    metric = copy.deepcopy(base)
    metric["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = "validation:nope"
    refused(metric, "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName")

    warm = copy.deepcopy(base)
    warm["WarmStartConfig"] = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "api-tune-1"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    refused(warm, "WarmStartConfig")

    strategy = copy.deepcopy(base)
    strategy["HyperParameterTuningJobConfig"]["Strategy"] = "Genetic"
    refused(strategy, "HyperParameterTuningJobConfig.Strategy", via=loose)

    image = copy.deepcopy(base)
    image["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = "evil.example/xgb:1"
    refused(image, "TrainingJobDefinition.AlgorithmSpecification.TrainingImage")

    with pytest.raises(ClientError) as e:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-bad")
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"  # nothing was recorded


def test_a_tuning_job_whose_runner_died_is_failed_with_the_reason(sm, sagemaker_router, churn, tmp_path) -> None:  # type: ignore[no-untyped-def]
    request = tuning_request("api-tune-dead", churn, str(tmp_path / "out"), jobs=2, parallel=1)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["num_round"] = "100000"
    sm.create_hyper_parameter_tuning_job(**request)
    deadline = time.monotonic() + 60
    while not (
        children := sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-dead")[
            "TrainingJobSummaries"
        ]
    ):
        assert time.monotonic() < deadline, "the tuning job started no training job"
        time.sleep(0.5)
    folder = sagemaker_router.home / "tuning-jobs" / "api-tune-dead"
    pid = json.loads((folder / "runner.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)  # the runner this test's tuning job started
    deadline = time.monotonic() + 30
    while (job := sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="api-tune-dead"))[
        "HyperParameterTuningJobStatus"
    ] == "InProgress":
        assert time.monotonic() < deadline, "a dead runner's tuning job stayed InProgress"
        time.sleep(0.5)
    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert "runner process died" in job["FailureReason"]
    assert fits(sm, "DescribeHyperParameterTuningJob", job) == []
    for child in children:  # its training job runs on to its own end: stop it through the training API
        deadline = time.monotonic() + 60
        while sm.describe_training_job(TrainingJobName=child["TrainingJobName"])["SecondaryStatus"] != "Training":
            assert time.monotonic() < deadline, "the training job never started training"
            time.sleep(0.5)
        sm.stop_training_job(TrainingJobName=child["TrainingJobName"])
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=child["TrainingJobName"], WaiterConfig=FAST_WAIT
        )
