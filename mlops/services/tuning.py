"""Automatic model tuning use case: validate a tuning job against the algorithm, start its detached
runner, follow it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.algorithm import AlgorithmSpec, check_ranges
from mlops.core.clock import utcnow
from mlops.core.errors import ConflictError, ValidationError
from mlops.core.ids import check_tuning_job_name
from mlops.core.training import AlgorithmSpecification, OutputDataConfig, ResourceConfig, StoppingCondition
from mlops.core.tuning import HyperParameterTuningJobConfig, HyperParameterTuningJobWarmStartConfig
from mlops.core.tuning_job import (
    HyperParameterTrainingJobDefinition,
    HyperParameterTuningJobStatus,
    TuningJob,
    TuningJobRequest,
    tuning_job_arn,
)
from mlops.jobs.detached import DetachedProcess, wait_until_terminal
from mlops.services.training import TrainingInput, build_request
from mlops.tuning.job_store import TuningJobStore

RUNNER = DetachedProcess("mlops.services.tuning_runner", log_file="runner.log", pid_file="runner.json")


@dataclass(frozen=True)
class TuningInput:
    name: str
    algorithm: str
    channels: dict[str, str]
    config: HyperParameterTuningJobConfig
    static_hyperparameters: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/csv"
    warm_start: HyperParameterTuningJobWarmStartConfig | None = None
    runtime: str = "local"
    resources: ResourceConfig = field(default_factory=ResourceConfig)
    max_runtime_seconds: int = 86400


def _check_against_algorithm(catalog: AlgorithmCatalog, inp: TuningInput) -> None:
    spec = catalog.get(inp.algorithm)
    objective = inp.config.HyperParameterTuningJobObjective
    if objective.MetricName not in spec.metric_names():
        objectives = ", ".join(o.MetricName for o in spec.TrainingSpecification.SupportedTuningJobObjectiveMetrics)
        raise ValidationError(
            "objective",
            f"{objective.MetricName!r} is not a metric that {inp.algorithm} emits; try one of: {objectives}",
        )
    _check_objective_channel(spec, inp)
    ranges = inp.config.ParameterRanges
    check_ranges(spec, ranges, "range")
    tuned = set(ranges.names())
    overlap = tuned & set(inp.static_hyperparameters)
    if overlap:
        raise ValidationError("static hyperparameters", f"{', '.join(sorted(overlap))} also tuned; give each once")


def _check_objective_channel(spec: AlgorithmSpec, inp: TuningInput) -> None:
    """``validation:auc`` is only ever emitted when a ``validation`` channel is given: refuse before any job runs."""
    metric = inp.config.HyperParameterTuningJobObjective.MetricName
    channel, sep, _ = metric.partition(":")
    declared = {c.Name for c in spec.TrainingSpecification.TrainingChannels}
    if sep and channel in declared and channel not in inp.channels:
        given = ", ".join(sorted(inp.channels)) or "none"
        raise ValidationError(
            "objective",
            f"{metric!r} is computed on the {channel!r} channel, which is not given (channels given: {given}); "
            f"add --{channel} FILE or choose an objective on a given channel",
        )


def build_tuning_request(catalog: AlgorithmCatalog, inp: TuningInput, artifact_root: str) -> TuningJobRequest:
    check_tuning_job_name("tuning job name", inp.name)
    _check_against_algorithm(catalog, inp)
    spec = catalog.get(inp.algorithm)
    # a sample job request validates the static hyperparameters, channels and paths once, up front
    required = {
        hp.Name: hp.DefaultValue or "1"
        for hp in spec.TrainingSpecification.SupportedHyperParameters
        if hp.IsRequired and hp.Name not in inp.static_hyperparameters
    }
    sample = build_request(
        spec,
        TrainingInput(
            inp.algorithm,
            inp.channels,
            {**required, **inp.static_hyperparameters},
            inp.content_type,
            job_name=f"{inp.name}-check",
        ),
        artifact_root,
    )
    definition = HyperParameterTrainingJobDefinition(
        AlgorithmSpecification=AlgorithmSpecification(
            AlgorithmName=inp.algorithm, MetricDefinitions=spec.TrainingSpecification.MetricDefinitions
        ),
        StaticHyperParameters=inp.static_hyperparameters,
        InputDataConfig=sample.InputDataConfig,
        OutputDataConfig=OutputDataConfig(S3OutputPath=artifact_root),
        ResourceConfig=inp.resources,
        StoppingCondition=StoppingCondition(MaxRuntimeInSeconds=inp.max_runtime_seconds),
    )
    return TuningJobRequest(
        HyperParameterTuningJobName=inp.name,
        HyperParameterTuningJobConfig=inp.config,
        TrainingJobDefinition=definition,
        WarmStartConfig=inp.warm_start,
        RuntimeName=inp.runtime,
    )


def start_tuning_job(store: TuningJobStore, request: TuningJobRequest, environment: dict[str, str]) -> TuningJob:
    """Record the tuning job and start its runner detached, with ``environment`` (the caller's settings as
    MLOPS_* variables) over this process's. A name already used is refused."""
    if request.WarmStartConfig is not None:
        for parent in request.WarmStartConfig.ParentHyperParameterTuningJobs:
            parent_job = store.load(parent.HyperParameterTuningJobName)
            if not parent_job.HyperParameterTuningJobStatus.terminal:
                raise ConflictError(f"warm-start parent {parent.HyperParameterTuningJobName!r} has not finished")
    folder = store.reserve(request)
    now = utcnow()
    job = store.save(
        TuningJob(
            HyperParameterTuningJobName=request.HyperParameterTuningJobName,
            HyperParameterTuningJobArn=tuning_job_arn(request.HyperParameterTuningJobName),
            HyperParameterTuningJobStatus=HyperParameterTuningJobStatus.InProgress,
            HyperParameterTuningJobConfig=request.HyperParameterTuningJobConfig,
            TrainingJobDefinition=request.TrainingJobDefinition,
            WarmStartConfig=request.WarmStartConfig,
            CreationTime=now,
            LastModifiedTime=now,
            RuntimeName=request.RuntimeName,
        )
    )
    RUNNER.spawn(folder, environment)
    return job


RUNNER_DIED = "InternalServerError: the tuning job's runner process died; see runner.log in its folder"


def describe_tuning_job(store: TuningJobStore, name: str) -> TuningJob:
    """The tuning job's record; one still InProgress or Stopping whose runner is gone (killed, out of memory)
    is recorded Failed with the reason, as a training job whose supervisor died is. Training jobs it had
    started run on to their own end."""
    job = store.load(name)
    if job.HyperParameterTuningJobStatus.terminal or RUNNER.alive(store.folder(name)) is not False:
        return job
    job = store.load(name)  # it may have ended between the two reads
    if job.HyperParameterTuningJobStatus.terminal:
        return job
    now = utcnow()
    return store.save(
        job.model_copy(
            update={
                "HyperParameterTuningJobStatus": HyperParameterTuningJobStatus.Failed,
                "FailureReason": RUNNER_DIED,
                "HyperParameterTuningEndTime": now,
                "LastModifiedTime": now,
            }
        )
    )


def stop_tuning_job(store: TuningJobStore, name: str) -> TuningJob:
    job = describe_tuning_job(store, name)
    if job.HyperParameterTuningJobStatus.terminal:
        raise ConflictError(f"tuning job {name!r} is already {job.HyperParameterTuningJobStatus.value}")
    RUNNER.stop(store.folder(name))
    return job


def wait_tuning_job(
    store: TuningJobStore, name: str, on_change: Callable[[TuningJob], None] | None = None, poll_seconds: float = 0.5
) -> TuningJob:
    return wait_until_terminal(
        lambda: describe_tuning_job(store, name),
        lambda job: job.HyperParameterTuningJobStatus.terminal,
        lambda job: job.LastModifiedTime,
        on_change,
        poll_seconds,
    )
