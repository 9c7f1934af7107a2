"""The part of a training runtime that every supervisor-backed implementation shares: reserving a
job folder, starting its supervisor, describing, stopping, listing and waiting."""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from mlops.core.clock import utcnow
from mlops.core.errors import ConflictError, ValidationError
from mlops.core.ids import check_name
from mlops.core.training import (
    MetricData,
    SecondaryStatus,
    SecondaryStatusTransition,
    TrainingJob,
    TrainingJobRequest,
    TrainingJobStatus,
    training_job_arn,
)
from mlops.jobs.detached import wait_until_terminal
from mlops.runtime.instance_types import preparing_message
from mlops.runtime.job_store import JobStore
from mlops.runtime.launch import LaunchTarget, TrainingLaunch
from mlops.runtime.supervisor import LAUNCH_FILE, SUPERVISOR, spawn_supervisor
from mlops.runtime.table import runtime_entry


class SupervisedRuntime(ABC):
    """Subclasses say how the algorithm is launched (``launch_info``); the rest is shared. The subclass's
    ``name`` is its row in table.py, whose executor the job's supervisor uses."""

    name = "supervised"

    def __init__(self, jobs_dir: Path, stop_grace_seconds: float = 120.0) -> None:
        self.jobs = JobStore(jobs_dir)
        self.stop_grace_seconds = stop_grace_seconds

    @abstractmethod
    def launch_info(self, request: TrainingJobRequest) -> LaunchTarget:
        """What the supervisor's executor needs to start ``train`` (a folder, an image)."""

    def complete_request(self, request: TrainingJobRequest) -> TrainingJobRequest:
        """Fill what the runtime knows and the request left out (e.g. an algorithm's MetricDefinitions)."""
        return request

    def create_training_job(self, request: TrainingJobRequest) -> TrainingJob:
        check_name("TrainingJobName", request.TrainingJobName)
        request = self.complete_request(request)
        launch = self.launch_record(request)
        self.jobs.reserve(request)
        now = utcnow()
        job = TrainingJob(
            TrainingJobName=request.TrainingJobName,
            TrainingJobArn=training_job_arn(request.TrainingJobName),
            TrainingJobStatus=TrainingJobStatus.InProgress,
            SecondaryStatus=SecondaryStatus.Starting,
            HyperParameters=request.HyperParameters,
            AlgorithmSpecification=request.AlgorithmSpecification,
            InputDataConfig=request.InputDataConfig,
            OutputDataConfig=request.OutputDataConfig,
            ResourceConfig=request.ResourceConfig,
            StoppingCondition=request.StoppingCondition,
            Environment=request.Environment,
            EnableNetworkIsolation=request.EnableNetworkIsolation,
            FeatureEncoding=request.FeatureEncoding,
            SecondaryStatusTransitions=(
                SecondaryStatusTransition(
                    Status=SecondaryStatus.Starting,
                    StartTime=now,
                    StatusMessage=preparing_message(request.ResourceConfig, self.name),
                ),
            ),
            CreationTime=now,
            LastModifiedTime=now,
            RuntimeName=self.name,
        )
        self.jobs.save(job)
        launch.write(self.jobs.folder(request.TrainingJobName) / LAUNCH_FILE)
        spawn_supervisor(self.jobs.folder(request.TrainingJobName))
        return job

    def launch_record(self, request: TrainingJobRequest) -> TrainingLaunch:
        """What the job's supervisor reads (launch.py): this runtime's executor from the table, and how."""
        executor = runtime_entry(self.name).executor
        if executor is None:
            raise ValidationError("runtime", f"runtime {self.name!r} has no executor for a job's supervisor")
        return TrainingLaunch(
            runtime=self.name,
            executor=executor,
            stop_grace_seconds=self.stop_grace_seconds,
            python=sys.executable or "python3",
            target=self.launch_info(request),
        )

    def describe_training_job(self, name: str) -> TrainingJob:
        job = self.jobs.load(name)
        if job.TrainingJobStatus.terminal:
            return job
        if SUPERVISOR.alive(self.jobs.folder(name)) is False:
            job = self.jobs.load(name)  # it may have finished between the two reads
            if not job.TrainingJobStatus.terminal:
                reason = "InternalServerError: the job's supervisor process died; see the log"
                job = self.jobs.save(
                    job.model_copy(
                        update={
                            "TrainingJobStatus": TrainingJobStatus.Failed,
                            "SecondaryStatus": SecondaryStatus.Failed,
                            "FailureReason": reason,
                            "LastModifiedTime": utcnow(),
                            "TrainingEndTime": utcnow(),
                        }
                    )
                )
        return job

    def stop_training_job(self, name: str) -> TrainingJob:
        job = self.describe_training_job(name)
        if job.TrainingJobStatus.terminal:
            raise ConflictError(f"training job {name!r} is already {job.TrainingJobStatus.value}")
        SUPERVISOR.stop(self.jobs.folder(name))
        return job

    def list_training_jobs(self) -> list[TrainingJob]:
        jobs = [self.describe_training_job(n) for n in self.jobs.names()]
        return sorted(jobs, key=lambda j: j.CreationTime, reverse=True)

    def log_path(self, name: str) -> Path:
        self.jobs.load(name)
        return self.jobs.log_path(name)

    def metric_history(self, name: str) -> list[MetricData]:
        return self.jobs.metrics(name)

    def wait(
        self, name: str, on_change: Callable[[TrainingJob], None] | None = None, poll_seconds: float = 0.05
    ) -> TrainingJob:
        return wait_until_terminal(
            lambda: self.describe_training_job(name),
            lambda job: job.TrainingJobStatus.terminal,
            lambda job: (job.TrainingJobStatus.value, job.SecondaryStatus.value),
            on_change,
            poll_seconds,
        )
