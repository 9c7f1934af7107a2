"""CreateHyperParameterTuningJob, DescribeHyperParameterTuningJob, ListHyperParameterTuningJobs,
ListTrainingJobsForHyperParameterTuningJob and StopHyperParameterTuningJob on the tuning use case
(services/tuning.py), so a tuning job created here is validated as ``mlops tune`` validates it, runs in
the same detached runner and is the same record `mlops tuning-jobs` shows.

The wire request becomes the use case's records once: ``HyperParameterTuningJobConfig`` through
``tuning_job_config`` (services/tuning_config.py), ``TrainingJobDefinition``'s algorithm, channels and
instance type through the mapping CreateTrainingJob uses (training.py), then ``build_tuning_request``.
Members the local tuner cannot honour are refused by name. The training jobs a tuning job starts are
ordinary training jobs: DescribeTrainingJob and ListTrainingJobs show them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from botocore.utils import parse_to_aware_datetime

from mlops.api.errors import ApiError, validation
from mlops.api.operations import Operation, table
from mlops.api.training import TrainingOperations, _offset, _only, _token, wire_channels, wire_resources
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.ids import check_tuning_job_name
from mlops.core.training import TrainingInputMode, TrainingJob, TrainingJobStatus
from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    HyperParameterTrainingJobSummary,
    HyperParameterTuningJobObjective,
    HyperParameterTuningJobStrategyType,
    IntegerParameterRange,
    ObjectiveType,
    ParameterRanges,
    ResourceLimits,
    TrainingJobEarlyStoppingType,
    TuningJobCompletionCriteria,
)
from mlops.core.tuning_job import HyperParameterTuningJobStatus, TuningJob
from mlops.services.tuning import (
    TuningInput,
    build_tuning_request,
    describe_tuning_job,
    start_tuning_job,
    stop_tuning_job,
)
from mlops.services.tuning_config import tuning_job_config
from mlops.settings import Settings, settings_environment
from mlops.tuning.job_store import TuningJobStore

NAME = "HyperParameterTuningJobName"
CONFIG = "HyperParameterTuningJobConfig"
DEFINITION = "TrainingJobDefinition"
STOP_ACK_SECONDS = 10.0  # how long StopHyperParameterTuningJob waits for the runner to record Stopping
CREATE_MEMBERS = frozenset({NAME, CONFIG, DEFINITION})
CONFIG_MEMBERS = frozenset(
    {
        "Strategy",
        "StrategyConfig",
        "HyperParameterTuningJobObjective",
        "ResourceLimits",
        "ParameterRanges",
        "TrainingJobEarlyStoppingType",
        "TuningJobCompletionCriteria",
        "RandomSeed",
    }
)
RANGE_LISTS = {
    "ContinuousParameterRanges": ContinuousParameterRange,
    "IntegerParameterRanges": IntegerParameterRange,
    "CategoricalParameterRanges": CategoricalParameterRange,
}
# RoleArn: required by SageMaker's model and echoed back; there is no IAM here.
DEFINITION_MEMBERS = frozenset(
    {
        "AlgorithmSpecification",
        "StaticHyperParameters",
        "RoleArn",
        "InputDataConfig",
        "OutputDataConfig",
        "ResourceConfig",
        "StoppingCondition",
        "EnableNetworkIsolation",
    }
)
MAX_RESULTS = 100
TUNING_SORT_KEYS = {
    "Name": lambda j: j.HyperParameterTuningJobName,
    "CreationTime": lambda j: j.CreationTime,
    "Status": lambda j: j.HyperParameterTuningJobStatus.value,
}


def _not_found(name: str) -> ApiError:
    """SageMaker's answer for a tuning job that does not exist (the ResourceNotFound its model lists)."""
    return ApiError("ResourceNotFound", f"Amazon SageMaker can't find a tuning job called {name}. Type another name.")


# --- the wire request -> our records (pure) --------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)


def _enum(kind: type[E], value: str, where: str) -> E:
    """One of SageMaker's enum values (botocore's model leaves enums open: the server checks them)."""
    try:
        return kind(value)
    except ValueError:
        raise validation(f"{where}: {value!r} is not one of {', '.join(kind)}") from None


def parameter_ranges(wire: dict[str, Any], where: str = f"{CONFIG}.ParameterRanges") -> ParameterRanges:
    """``ParameterRanges`` as records, each refusal naming the range by its list, index and Name."""
    _only(wire, frozenset(RANGE_LISTS), f"{where}.")
    built: dict[str, tuple[Any, ...]] = {}
    for key, model in RANGE_LISTS.items():
        items = []
        for i, item in enumerate(wire.get(key, [])):
            try:
                items.append(model(**item))
            except ValidationError as e:
                raise validation(f"{where}.{key}[{i}] (Name {item.get('Name')}): {e.message}") from None
        built[key] = tuple(items)
    try:
        return ParameterRanges(**built)
    except ValidationError as e:
        raise validation(f"{where}: {e.message}") from None


def objective(wire: dict[str, Any] | None) -> HyperParameterTuningJobObjective:
    where = f"{CONFIG}.HyperParameterTuningJobObjective"
    if not wire:
        raise validation(f"{where}: the local tuner needs the objective (TuningObjective per definition is not served)")
    return HyperParameterTuningJobObjective(
        Type=_enum(ObjectiveType, wire["Type"], f"{where}.Type"), MetricName=wire["MetricName"]
    )


def limits(wire: dict[str, Any]) -> ResourceLimits:
    try:
        return ResourceLimits(**wire)
    except ValidationError as e:
        raise validation(f"{CONFIG}.{e}") from None


def completion(wire: dict[str, Any] | None) -> TuningJobCompletionCriteria | None:
    if not wire:
        return None
    where = f"{CONFIG}.TuningJobCompletionCriteria"
    _only(wire, frozenset({"TargetObjectiveMetricValue"}), f"{where}.")
    if "TargetObjectiveMetricValue" not in wire:
        raise validation(f"{where}.TargetObjectiveMetricValue: the local tuner completes on a target value only")
    return TuningJobCompletionCriteria(TargetObjectiveMetricValue=wire["TargetObjectiveMetricValue"])


def wire_field(field: str, tuned: tuple[str, ...]) -> str:
    """The request member a use-case refusal names, as SageMaker names it."""
    kind, _, name = field.partition(" ")
    if field == "objective":
        return f"{CONFIG}.HyperParameterTuningJobObjective.MetricName"
    if field in ("tuning job name", NAME):
        return NAME
    if kind == "range" and name:
        return f"{CONFIG}.ParameterRanges (Name {name})"
    if kind == "hyperparameter" and name in tuned:
        return f"{CONFIG}.ParameterRanges (Name {name})"
    if kind == "hyperparameter" and name:
        return f"{DEFINITION}.StaticHyperParameters.{name}"
    if field == "static hyperparameters":
        return f"{DEFINITION}.StaticHyperParameters"
    if kind == "channel" and name:
        return f"{DEFINITION}.InputDataConfig (ChannelName {name})"
    if field.startswith("StrategyConfig") or field == "TrainingJobEarlyStoppingType":
        return f"{CONFIG}.{field}"
    return field


# --- the operations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuningOperations:
    training: TrainingOperations  # the algorithm mapping, and the runtime that runs the training jobs
    store: TuningJobStore
    environment: dict[str, str]  # the settings as MLOPS_* variables, for the detached runner
    runtime_name: str = "local"

    @classmethod
    def from_settings(cls, settings: Settings, training: TrainingOperations) -> TuningOperations:
        """Over the home's tuning jobs, starting runners with these settings."""
        return cls(training, TuningJobStore(settings.paths.tuning_jobs), settings_environment(settings))

    def operations(self) -> dict[str, Operation]:
        return table(
            Operation("CreateHyperParameterTuningJob", self.create),
            Operation("DescribeHyperParameterTuningJob", self.describe),
            Operation("ListHyperParameterTuningJobs", self.list),
            Operation("ListTrainingJobsForHyperParameterTuningJob", self.list_training_jobs),
            Operation("StopHyperParameterTuningJob", self.stop),
        )

    def tuning_input(self, params: dict[str, Any]) -> tuple[TuningInput, str, str]:
        """The wire request as the use case's ``TuningInput``, its output path and its RoleArn."""
        _only(params, CREATE_MEMBERS, "")
        name = params[NAME]
        try:
            check_tuning_job_name(NAME, name)
        except ValidationError as e:
            raise validation(str(e)) from None
        definition = params.get(DEFINITION)
        if definition is None:
            raise validation(f"{DEFINITION}: the local tuner runs one definition (not TrainingJobDefinitions)")
        _only(definition, DEFINITION_MEMBERS, f"{DEFINITION}.")
        if definition.get("EnableNetworkIsolation", True) is not True:
            raise validation(f"{DEFINITION}.EnableNetworkIsolation: the local tuner runs its jobs network-isolated")
        spec = definition["AlgorithmSpecification"]
        algorithm = self.training.algorithm(spec, f"{DEFINITION}.AlgorithmSpecification")
        if spec.get("TrainingInputMode", "File") != TrainingInputMode.File.value:
            raise validation(f"{DEFINITION}.AlgorithmSpecification.TrainingInputMode: only File is supported here")
        channels, content_type = wire_channels(
            definition.get("InputDataConfig", []), TrainingInputMode.File, f"{DEFINITION}.InputDataConfig"
        )
        resources = wire_resources(definition.get("ResourceConfig", {}), f"{DEFINITION}.ResourceConfig")
        wire = params[CONFIG]
        _only(wire, CONFIG_MEMBERS, f"{CONFIG}.")
        if "ParameterRanges" not in wire:
            raise validation(f"{CONFIG}.ParameterRanges: give the hyperparameters to tune")
        ranges = parameter_ranges(wire["ParameterRanges"])
        strategy_config = (wire.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
        catalog_spec = self.training.catalog.get(algorithm)
        try:
            config, static = tuning_job_config(
                strategy=_enum(HyperParameterTuningJobStrategyType, wire["Strategy"], f"{CONFIG}.Strategy"),
                objective=objective(wire.get("HyperParameterTuningJobObjective")),
                ranges=ranges,
                limits=limits(wire["ResourceLimits"]),
                resource=catalog_spec.TuningResourceHyperParameter,
                static=dict(definition.get("StaticHyperParameters", {})),
                max_resource=strategy_config.get("MaxResource"),
                min_resource=strategy_config.get("MinResource"),
                early_stopping=_enum(
                    TrainingJobEarlyStoppingType,
                    wire.get("TrainingJobEarlyStoppingType", "Off"),
                    f"{CONFIG}.TrainingJobEarlyStoppingType",
                ),
                completion=completion(wire.get("TuningJobCompletionCriteria")),
                seed=wire.get("RandomSeed"),
                resource_field=f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig.MaxResource",
            )
        except ValidationError as e:
            raise validation(f"{wire_field(e.field, ranges.names())}: {e.message}") from None
        inp = TuningInput(
            name=name,
            algorithm=algorithm,
            channels=channels,
            config=config,
            static_hyperparameters=static,
            content_type=content_type,
            runtime=self.runtime_name,
            resources=resources,
            max_runtime_seconds=definition["StoppingCondition"].get("MaxRuntimeInSeconds", 86400),
        )
        return inp, definition["OutputDataConfig"]["S3OutputPath"], definition["RoleArn"]

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        inp, output, role = self.tuning_input(params)
        try:
            request = build_tuning_request(self.training.catalog, inp, output)
        except ValidationError as e:
            raise validation(f"{wire_field(e.field, inp.config.ParameterRanges.names())}: {e.message}") from None
        definition = request.TrainingJobDefinition.model_copy(update={"RoleArn": role})
        request = request.model_copy(update={"TrainingJobDefinition": definition})
        try:
            job = start_tuning_job(self.store, request, self.environment)
        except ConflictError:
            raise ApiError(
                "ResourceInUse",
                f"A hyperparameter tuning job with the name, {inp.name}, already exists. Choose a different name.",
            ) from None
        return {"HyperParameterTuningJobArn": job.HyperParameterTuningJobArn}

    def job(self, name: str) -> TuningJob:
        try:
            check_tuning_job_name(NAME, name)
            return describe_tuning_job(self.store, name)
        except ValidationError as e:
            raise validation(str(e)) from None
        except NotFoundError:
            raise _not_found(name) from None

    def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self.job(params[NAME])
        out = job.model_dump(mode="python", exclude={"TrainingJobSummaries", "BestTrainingJob"})
        if job.BestTrainingJob is not None:
            out["BestTrainingJob"] = self.summary(job, job.BestTrainingJob.TrainingJobName, job.BestTrainingJob)
        return out

    def stop(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params[NAME]
        job = self.job(name)
        if job.HyperParameterTuningJobStatus.terminal:
            status = job.HyperParameterTuningJobStatus.value
            raise validation(f"The request was rejected because the tuning job is in status {status}.")
        self.store_stop(name)
        # SageMaker's job is Stopping once the call returns; the runner records it on the signal
        deadline = time.monotonic() + STOP_ACK_SECONDS
        while self.job(name).HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.InProgress:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return {}

    def store_stop(self, name: str) -> None:
        try:
            stop_tuning_job(self.store, name)
        except ConflictError:  # it ended meanwhile
            status = self.job(name).HyperParameterTuningJobStatus.value
            raise validation(f"The request was rejected because the tuning job is in status {status}.") from None

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        status = params.get("StatusEquals")
        if status:
            _enum(HyperParameterTuningJobStatus, status, "StatusEquals")
        sort_by = params.get("SortBy", "Name")
        if sort_by not in TUNING_SORT_KEYS:
            raise validation(f"SortBy: {sort_by!r} is not one of {', '.join(TUNING_SORT_KEYS)}")
        contains = (params.get("NameContains") or "").lower()
        jobs = [describe_tuning_job(self.store, n) for n in self.store.names() if contains in n.lower()]
        jobs = [
            j for j in jobs if _within(j, params) and (not status or j.HyperParameterTuningJobStatus.value == status)
        ]
        jobs.sort(key=TUNING_SORT_KEYS[sort_by], reverse=params.get("SortOrder") == "Descending")
        page, token = _page(jobs, params)
        summaries = [
            {
                **j.model_dump(
                    mode="python",
                    include={
                        NAME,
                        "HyperParameterTuningJobArn",
                        "HyperParameterTuningJobStatus",
                        "CreationTime",
                        "HyperParameterTuningEndTime",
                        "LastModifiedTime",
                        "TrainingJobStatusCounters",
                        "ObjectiveStatusCounters",
                    },
                ),
                "Strategy": j.HyperParameterTuningJobConfig.Strategy.value,
                "ResourceLimits": j.HyperParameterTuningJobConfig.ResourceLimits.model_dump(mode="python"),
            }
            for j in page
        ]
        return {"HyperParameterTuningJobSummaries": summaries, **token}

    # --- the training jobs of a tuning job -----------------------------------------------------------

    def children(self, job: TuningJob) -> dict[str, TrainingJob]:
        """The training jobs the runner started, running ones included (named by
        tuning_runner.training_job_name: NAME-NNN-DIGEST)."""
        pattern = re.compile(rf"{re.escape(job.HyperParameterTuningJobName[:50])}-\d{{3}}-[0-9a-f]{{8}}")
        jobs = self.training.runtime.list_training_jobs()
        return {t.TrainingJobName: t for t in jobs if pattern.fullmatch(t.TrainingJobName)}

    def summary(
        self,
        job: TuningJob,
        name: str,
        recorded: HyperParameterTrainingJobSummary | None,
        training: TrainingJob | None = None,
    ) -> dict[str, Any]:
        """A HyperParameterTrainingJobSummary: the runner's record of the job (tuned values, final objective)
        and the training job's own (ARN, times, status)."""
        if training is None:
            training = self.training.job(name)
        tuned = job.HyperParameterTuningJobConfig.ParameterRanges.names()
        metric = recorded.FinalHyperParameterTuningJobObjectiveMetric if recorded else None
        if recorded is None:
            objective_status = "Pending"
        else:
            objective_status = "Succeeded" if metric is not None else "Failed"
        return {
            "TrainingJobName": training.TrainingJobName,
            "TrainingJobArn": training.TrainingJobArn,
            "TuningJobName": job.HyperParameterTuningJobName,
            "CreationTime": training.CreationTime,
            "TrainingStartTime": training.TrainingStartTime,
            "TrainingEndTime": training.TrainingEndTime,
            "TrainingJobStatus": training.TrainingJobStatus.value,
            "TunedHyperParameters": recorded.TunedHyperParameters
            if recorded
            else {k: v for k, v in training.HyperParameters.items() if k in tuned},
            "FailureReason": training.FailureReason,
            "FinalHyperParameterTuningJobObjectiveMetric": metric.model_dump(mode="python") if metric else None,
            "ObjectiveStatus": objective_status,
        }

    def list_training_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self.job(params[NAME])
        recorded = {s.TrainingJobName: s for s in job.TrainingJobSummaries}
        rows = [self.summary(job, n, recorded.get(n), t) for n, t in self.children(job).items()]
        status = params.get("StatusEquals")
        if status:
            _enum(TrainingJobStatus, status, "StatusEquals")
            rows = [r for r in rows if r["TrainingJobStatus"] == status]
        rows = sort_training_jobs(rows, params.get("SortBy", "Name"), params.get("SortOrder", "Ascending"))
        page, token = _page(rows, params)
        return {"TrainingJobSummaries": page, **token}


def sort_training_jobs(rows: list[dict[str, Any]], sort_by: str, order: str) -> list[dict[str, Any]]:
    """SageMaker's orders of a tuning job's training jobs; by FinalObjectiveMetricValue, the jobs that
    reported no objective are left out (as SageMaker documents)."""
    reverse = order == "Descending"
    if sort_by == "FinalObjectiveMetricValue":
        scored = [r for r in rows if r["FinalHyperParameterTuningJobObjectiveMetric"] is not None]
        return sorted(scored, key=lambda r: r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], reverse=reverse)
    keys = {"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"}
    if sort_by not in keys:
        raise validation(f"SortBy: {sort_by!r} is not one of Name, CreationTime, Status, FinalObjectiveMetricValue")
    return sorted(rows, key=lambda r: r[keys[sort_by]], reverse=reverse)


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], dict[str, str]]:
    start = _offset(params.get("NextToken"))
    size = params.get("MaxResults", 10)
    if size > MAX_RESULTS:
        raise validation(f"MaxResults: {size} is more than {MAX_RESULTS}")
    page = items[start : start + size]
    return page, ({"NextToken": _token(start + size)} if start + size < len(items) else {})


def _within(job: TuningJob, params: dict[str, Any]) -> bool:
    """The creation and last-modified time bounds of ListHyperParameterTuningJobs (exclusive, as SageMaker's)."""
    for key, when, after in (
        ("CreationTimeAfter", job.CreationTime, True),
        ("CreationTimeBefore", job.CreationTime, False),
        ("LastModifiedTimeAfter", job.LastModifiedTime, True),
        ("LastModifiedTimeBefore", job.LastModifiedTime, False),
    ):
        if key in params:
            bound = parse_to_aware_datetime(params[key])
            if (when <= bound) if after else (when >= bound):
                return False
    return True
