"""The tuning runner records Stopping as soon as it is asked to stop, while its training jobs are still
being stopped (StopHyperParameterTuningJob answers once the job is Stopping), then Stopped once they end."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.training import (
    MetricData,
    SecondaryStatus,
    TrainingJob,
    TrainingJobRequest,
    TrainingJobStatus,
    training_job_arn,
)
from mlops.core.tuning import (
    ContinuousParameterRange,
    HyperParameterTuningJobConfig,
    HyperParameterTuningJobObjective,
    ObjectiveType,
    ParameterRanges,
    ResourceLimits,
)
from mlops.core.tuning_job import HyperParameterTuningJobStatus, TuningJob, tuning_job_arn
from mlops.services.tuning import TuningInput, build_tuning_request
from mlops.services.tuning_runner import TuningRunner
from mlops.tuning.job_store import TuningJobStore
from tests.conftest import FIXTURE_ALGORITHMS


class SlowToStop:
    """A training runtime whose jobs run until stopped, and take until ``release`` is set to stop."""

    def __init__(self) -> None:
        self.jobs: dict[str, TrainingJob] = {}
        self.release = threading.Event()
        self.stopping: set[str] = set()

    def create_training_job(self, request: TrainingJobRequest) -> TrainingJob:
        now = datetime.now(UTC)
        job = TrainingJob(
            TrainingJobName=request.TrainingJobName,
            TrainingJobArn=training_job_arn(request.TrainingJobName),
            TrainingJobStatus=TrainingJobStatus.InProgress,
            SecondaryStatus=SecondaryStatus.Training,
            AlgorithmSpecification=request.AlgorithmSpecification,
            OutputDataConfig=request.OutputDataConfig,
            ResourceConfig=request.ResourceConfig,
            StoppingCondition=request.StoppingCondition,
            CreationTime=now,
            LastModifiedTime=now,
        )
        self.jobs[job.TrainingJobName] = job
        return job

    def describe_training_job(self, name: str) -> TrainingJob:
        job = self.jobs[name]
        if name in self.stopping and self.release.is_set():
            job = job.model_copy(
                update={"TrainingJobStatus": TrainingJobStatus.Stopped, "SecondaryStatus": SecondaryStatus.Stopped}
            )
            self.jobs[name] = job
        return job

    def stop_training_job(self, name: str) -> TrainingJob:
        self.stopping.add(name)
        return self.jobs[name]

    def metric_history(self, name: str) -> list[MetricData]:
        return []


def test_stopping_is_recorded_before_the_training_jobs_have_stopped(tmp_path: Path) -> None:
    catalog = AlgorithmCatalog(FIXTURE_ALGORITHMS)
    config = HyperParameterTuningJobConfig(
        Strategy="Random",
        HyperParameterTuningJobObjective=HyperParameterTuningJobObjective(
            Type=ObjectiveType.Maximize, MetricName="validation:score"
        ),
        ResourceLimits=ResourceLimits(MaxNumberOfTrainingJobs=2, MaxParallelTrainingJobs=1),
        ParameterRanges=ParameterRanges(
            ContinuousParameterRanges=(ContinuousParameterRange(Name="quality", MinValue="0.1", MaxValue="10"),)
        ),
    )
    request = build_tuning_request(
        catalog, TuningInput(name="slow-stop", algorithm="curve", channels={}, config=config), str(tmp_path / "out")
    )
    store = TuningJobStore(tmp_path / "tuning-jobs")
    store.reserve(request)
    now = datetime.now(UTC)
    store.save(
        TuningJob(
            HyperParameterTuningJobName="slow-stop",
            HyperParameterTuningJobArn=tuning_job_arn("slow-stop"),
            HyperParameterTuningJobStatus=HyperParameterTuningJobStatus.InProgress,
            HyperParameterTuningJobConfig=config,
            TrainingJobDefinition=request.TrainingJobDefinition,
            CreationTime=now,
            LastModifiedTime=now,
        )
    )
    runtime = SlowToStop()
    runner = TuningRunner(store, "slow-stop", runtime, catalog)  # type: ignore[arg-type]
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runtime.jobs:
        assert time.monotonic() < deadline, "the runner started no training job"
        time.sleep(0.05)

    runner.stop_requested.set()  # what SIGTERM does
    deadline = time.monotonic() + 5
    while store.load("slow-stop").HyperParameterTuningJobStatus is not HyperParameterTuningJobStatus.Stopping:
        assert time.monotonic() < deadline, "the runner never recorded Stopping"
        time.sleep(0.05)
    assert runtime.stopping and thread.is_alive()  # its training job is still being stopped

    runtime.release.set()
    thread.join(10)
    job = store.load("slow-stop")
    assert job.HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Stopped
    assert job.TrainingJobStatusCounters.Stopped == 1 and len(runtime.jobs) == 1
