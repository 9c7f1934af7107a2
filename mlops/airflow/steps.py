"""The training pipeline's steps as library calls: each takes the settings and the earlier steps'
results (the typed records of ``mlops.airflow.records``, which tasks pass as XCom in their JSON form) and
calls the platform's services. No Airflow import here, so each step runs and is tested without a scheduler.

Names of everything a step creates derive from the run (``run_suffix``), so a retried step finds what
its first try created instead of creating it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops.airflow.records import (
    CandidateEvaluation,
    CurrentModel,
    DatasetSplit,
    DataValidation,
    IngestedDataset,
    JobCounts,
    ModelVersionSummary,
    ObjectiveValue,
    PolicyGateResult,
    PolicyRuleResult,
    RecordedDecision,
    TrainingResult,
)
from mlops.airflow.request import (
    BUNDLED_PREFIX,
    TrainingRequest,
    objective_for,
    problem_hyperparameters,
    resolve_policy_file,
    tuning_config,
)
from mlops.core.errors import ConflictError, MlopsError, NotFoundError
from mlops.core.files import replacing
from mlops.core.registry import ModelApprovalStatus, ModelPackage
from mlops.core.training import TrainingJob, TrainingJobRequest, TrainingJobStatus
from mlops.core.tuning_job import HyperParameterTuningJobStatus, TuningJob, TuningJobRequest
from mlops.settings import Settings


class PolicyRejected(MlopsError):
    """The candidate failed the promotion policy; it was Rejected in the registry."""


class JobEnded(MlopsError):
    """A job ended without what the pipeline needs from it (failed, stopped, rolled back)."""


def run_suffix(dag_id: str, run_id: str) -> str:
    """A short, stable hash of the run: the same for every try of every task of the run."""
    return hashlib.sha256(f"{dag_id}/{run_id}".encode()).hexdigest()[:8]


def job_name(request: TrainingRequest, suffix: str) -> str:
    """The run's tuning job (or single training job) name; at most 48 characters, SageMaker's tuning limit."""
    head = f"{request.dataset_name}-{request.algorithm}"[: 48 - len(suffix) - 1].rstrip("-")
    return f"{head}-{suffix}"


def tuning_store(settings: Settings) -> Any:
    from mlops.tuning.job_store import TuningJobStore

    return TuningJobStore(settings.paths.tuning_jobs)


# ------------------------------------------------------------------------------------------- data


def bundled_source(settings: Settings, name: str, rows: int) -> str:
    """The bundled table written once under HOME (identical bytes on every run: one dataset version).
    Each writer writes its own temporary file and renames it into place, so a run starting meanwhile
    never reads a half-written table."""
    from mlops.data.churn_sample import generate

    path = settings.paths.bundled / f"{name}-{rows}.csv"
    if not path.exists():
        with replacing(path) as tmp:
            generate(rows, seed=7).to_csv(tmp, index=False)
    return str(path)


def ingest_dataset(settings: Settings, request: TrainingRequest) -> IngestedDataset:
    from mlops.services.datasets import IngestOptions, dataset_store, ingest

    source = request.dataset_source
    if source.startswith(BUNDLED_PREFIX):
        source = bundled_source(settings, source[len(BUNDLED_PREFIX) :], request.bundled_rows)
    result = ingest(dataset_store(settings), request.dataset_name, source, IngestOptions(), settings.s3_endpoint_url)
    version = result.version
    return IngestedDataset(
        dataset=version.DatasetName,
        version=version.Version,
        version_number=version.VersionNumber,
        rows=version.RowCount,
        created=result.created,
        source=source,
        label=version.Encoding.LabelColumn,
        problem=version.Encoding.ProblemType,
        classes=len(version.Encoding.Classes),
        features=len(version.Encoding.Features),
    )


def validate_dataset(settings: Settings, dataset: IngestedDataset) -> DataValidation:
    """The great-expectations gate. The first version of a dataset has no suite yet: one is suggested
    from it (the baseline the next versions are held to). Raises DataQualityError when it fails."""
    from mlops.services.datasets import baseline, dataset_store, require_valid

    store = dataset_store(settings)
    name, version = dataset.dataset, dataset.version
    suite_created = False
    if not store.suite_path(name).exists():
        try:
            baseline(store, name, version)
            suite_created = True
        except ConflictError:  # another run suggested it meanwhile
            pass
    result = require_valid(store, name, version)
    return DataValidation(
        validation_id=result.ValidationId,
        success=result.Success,
        summary=result.summary(),
        suite=result.SuiteName,
        suite_created=suite_created,
        report=result.ReportUri,
        expectations=result.EvaluatedExpectations,
    )


def split_dataset(settings: Settings, request: TrainingRequest, dataset: IngestedDataset) -> DatasetSplit:
    from mlops.core.datasets import DataFormat
    from mlops.services.datasets import SplitRequest, dataset_store, split

    record, created = split(
        dataset_store(settings),
        dataset.dataset,
        dataset.version,
        SplitRequest(
            train=request.split_train,
            validation=request.split_validation,
            test=request.split_test,
            seed=request.split_seed,
        ),
    )
    parts = {p.Name: p for p in record.Parts}
    files = {name: parts[name].file(DataFormat.csv).Uri for name in ("train", "validation", "test")}
    return DatasetSplit(
        split_id=record.SplitId,
        method=record.Method.value,
        created=created,
        rows={name: part.Rows for name, part in parts.items()},
        **files,
    )


# --------------------------------------------------------------------------------------- training


def static_hyperparameters(request: TrainingRequest, dataset: Mapping[str, Any]) -> dict[str, str]:
    """``dataset``: an IngestedDataset's JSON form (its ``problem`` and ``classes`` are read)."""
    return {
        **request.search.StaticHyperParameters,
        **problem_hyperparameters(request, dataset["problem"], dataset["classes"]),
        **request.static_hyperparameters,
    }


def channels(split: Mapping[str, Any]) -> dict[str, str]:
    """``split``: a DatasetSplit's JSON form (its ``train`` and ``validation`` files are read)."""
    return {"train": split["train"], "validation": split["validation"]}


def build_tuning_job(
    settings: Settings, request: TrainingRequest, dataset: Mapping[str, Any], split: Mapping[str, Any], name: str
) -> TuningJobRequest:
    from mlops.core.tuning import HyperParameterTuningJobStrategyType
    from mlops.services.catalog import algorithm_catalog
    from mlops.services.tuning import TuningInput, build_tuning_request

    config = tuning_config(request, objective_for(request, settings, dataset["problem"]))
    static = static_hyperparameters(request, dataset)
    if config.Strategy is HyperParameterTuningJobStrategyType.Hyperband:
        static.pop(request.tuning_resource or "", None)  # Hyperband sets it for each job
    return build_tuning_request(
        algorithm_catalog(settings),
        TuningInput(
            name=name,
            algorithm=request.algorithm,
            channels=channels(split),
            config=config,
            static_hyperparameters=static,
        ),
        settings.artifacts,
    )


def start_or_find_tuning_job(settings: Settings, request: TuningJobRequest) -> tuple[TuningJob, bool]:
    """Start the tuning job, or find the one an earlier try of the same run started: (job, started)."""
    from mlops.services.tuning import start_tuning_job
    from mlops.settings import settings_environment

    store = tuning_store(settings)
    name = request.HyperParameterTuningJobName
    if store.exists(name):
        return store.load(name), False
    try:
        return start_tuning_job(store, request, settings_environment(settings)), True
    except ConflictError:  # reserved by a try that died before writing its record: that try owns it
        return store.load(name), False


def tuning_result(job: TuningJob) -> TrainingResult:
    if job.HyperParameterTuningJobStatus is not HyperParameterTuningJobStatus.Completed or job.BestTrainingJob is None:
        reason = f": {job.FailureReason}" if job.FailureReason else ""
        raise JobEnded(
            f"tuning job {job.HyperParameterTuningJobName} ended {job.HyperParameterTuningJobStatus.value} "
            f"without a best training job{reason}"
        )
    best = job.BestTrainingJob
    metric = best.FinalHyperParameterTuningJobObjectiveMetric
    counters = job.TrainingJobStatusCounters
    return TrainingResult(
        tuning_job=job.HyperParameterTuningJobName,
        training_job=best.TrainingJobName,
        hyperparameters=dict(best.TunedHyperParameters),
        static_hyperparameters=dict(job.TrainingJobDefinition.StaticHyperParameters),
        objective=ObjectiveValue(metric=metric.MetricName, value=metric.Value) if metric else None,
        strategy=job.HyperParameterTuningJobConfig.Strategy.value,
        jobs=JobCounts(completed=counters.Completed, stopped=counters.Stopped, failed=counters.NonRetryableError),
        convergence_plot=job.ConvergencePlot,
    )


def build_training_job(
    settings: Settings, request: TrainingRequest, dataset: Mapping[str, Any], split: Mapping[str, Any], name: str
) -> TrainingJobRequest:
    from mlops.services.catalog import algorithm_catalog
    from mlops.services.training import TrainingInput, build_request

    hyperparameters = {**static_hyperparameters(request, dataset), **request.search.HyperParametersWithoutTuning}
    hyperparameters.update(request.static_hyperparameters)
    catalog = algorithm_catalog(settings)
    inp = TrainingInput(request.algorithm, channels(split), hyperparameters, job_name=name)
    return build_request(catalog.get(request.algorithm), inp, settings.artifacts)


def start_or_find_training_job(settings: Settings, request: TrainingJobRequest) -> tuple[TrainingJob, bool]:
    from mlops.services.runtimes import training_runtime

    runtime = training_runtime(settings)
    try:
        return runtime.describe_training_job(request.TrainingJobName), False
    except NotFoundError:
        pass
    try:
        return runtime.create_training_job(request), True
    except ConflictError:
        return runtime.describe_training_job(request.TrainingJobName), False


def describe_training_job(settings: Settings, name: str) -> TrainingJob:
    from mlops.services.runtimes import training_runtime

    return training_runtime(settings).describe_training_job(name)


def training_result(job: TrainingJob, objective: str | None = None) -> TrainingResult:
    if job.TrainingJobStatus is not TrainingJobStatus.Completed:
        reason = f": {job.FailureReason}" if job.FailureReason else ""
        raise JobEnded(f"training job {job.TrainingJobName} ended {job.TrainingJobStatus.value}{reason}")
    metrics = job.final_metrics
    chosen = objective if objective in metrics else next(iter(sorted(metrics)), None)
    return TrainingResult(
        tuning_job=None,
        training_job=job.TrainingJobName,
        hyperparameters=dict(job.HyperParameters),
        static_hyperparameters={},
        objective=ObjectiveValue(metric=chosen, value=metrics[chosen]) if chosen else None,
        strategy="none",
        jobs=JobCounts(completed=1, stopped=0, failed=0),
        convergence_plot=None,
    )


# --------------------------------------------------------------------------------------- registry


def _package_summary(package: ModelPackage) -> ModelVersionSummary:
    return ModelVersionSummary(
        group=package.ModelPackageGroupName,
        version=package.ModelPackageVersion,
        status=package.ModelApprovalStatus.value,
        arn=package.ModelPackageArn,
        training_job=package.Lineage.TrainingJobName,
        tuning_job=package.Lineage.TuningJobName,
        run_id=package.Lineage.TrackingRunId,
        model_data=package.model_data_url,
    )


def register_candidate(
    settings: Settings,
    request: TrainingRequest,
    dataset: IngestedDataset,
    split: DatasetSplit,
    trained: TrainingResult,
) -> ModelVersionSummary:
    """Register the best training job as a new version (PendingManualApproval). A retry finds the
    version its first try registered (same training job) instead of registering a second one."""
    from mlops.services.datasets import dataset_store
    from mlops.services.registry import open_registry, register_job
    from mlops.services.runtimes import training_runtime
    from mlops.services.tracking import open_tracker

    registry = open_registry(settings)
    try:
        earlier = [
            p
            for p in registry.list_model_packages(request.model_group)
            if p.Lineage.TrainingJobName == trained.training_job
        ]
    except NotFoundError:
        earlier = []
    if earlier:
        return _package_summary(earlier[-1])
    runtime = training_runtime(settings)
    job = runtime.describe_training_job(trained.training_job)
    store = dataset_store(settings)
    package = register_job(
        registry,
        open_tracker(settings),
        job,
        request.model_group,
        datasets=store,
        dataset_version=store.resolve(dataset.dataset, dataset.version),
        split=store.get_split(dataset.dataset, split.split_id),
        tuning_job=trained.tuning_job,
        description=f"{request.algorithm} on {dataset.dataset} version {dataset.version_number}, "
        f"{trained.strategy} search",
        history=runtime.metric_history(job.TrainingJobName),
    )
    return _package_summary(package)


def evaluate_candidate(
    settings: Settings,
    candidate: ModelVersionSummary,
    split: DatasetSplit,
    validation: DataValidation,
    trained: TrainingResult,
) -> CandidateEvaluation:
    """Serve the version's model, score the test split and attach the result to the version; the data
    validation report and the tuning convergence plot join the version's tracking run, so every report
    is one link away from the approval."""
    from mlops.services.registry import evaluate_package, open_registry
    from mlops.services.runtimes import server_runtime
    from mlops.services.tracking import open_tracker

    registry, tracker = open_registry(settings), open_tracker(settings)
    package = registry.describe_model_package(candidate.group, candidate.version)
    if package.ModelMetrics is None or not package.ModelMetrics.Metrics:  # a retry keeps the first evaluation
        job = describe_training_job(settings, candidate.training_job or "")
        package = evaluate_package(registry, tracker, package, job, server_runtime(settings), Path(split.test))
    metrics = package.ModelMetrics
    assert metrics is not None
    run_id = package.Lineage.TrackingRunId
    reports: dict[str, str] = {}
    if metrics.ModelQuality and metrics.ModelQuality.Statistics:
        reports["evaluation metrics"] = metrics.ModelQuality.Statistics.S3Uri
    for plot in metrics.Plots:
        reports["evaluation plot"] = plot.S3Uri
    if run_id:
        extra = {"data validation report": (validation.report, "data-validation")}
        extra["tuning convergence plot"] = (trained.convergence_plot, "tuning")
        for label, (path, folder) in extra.items():
            if path and Path(path).exists():
                reports[label] = tracker.log_artifact(run_id, Path(path), folder)
    return CandidateEvaluation(
        **_package_summary(package).model_dump(),
        problem=metrics.ProblemType,
        rows=metrics.EvaluatedRows,
        metrics=dict(metrics.Metrics),
        confusion_matrix=[list(row) for row in metrics.ConfusionMatrix] if metrics.ConfusionMatrix else None,
        reports=reports,
        experiment_id=tracker.get_run(run_id).ExperimentId if run_id else None,
    )


def current_model(settings: Settings, group: str, environment: str) -> ModelPackage | None:
    from mlops.services.registry import open_registry

    try:
        return open_registry(settings).describe_by_alias(group, environment)
    except NotFoundError:
        return None


def policy_gate(
    settings: Settings, request: TrainingRequest, evaluation: CandidateEvaluation, validation: DataValidation
) -> PolicyGateResult:
    """Evaluate the promotion policy against the candidate and the model now in the environment. A
    candidate that fails is Rejected in the registry with the reasons, and PolicyRejected is raised."""
    from mlops.promotion.policy import evaluate_policy, load_policy
    from mlops.services.registry import open_registry, reject

    environment = request.deployment.environment
    path = resolve_policy_file(request.policy_file)
    current = current_model(settings, request.model_group, environment)
    current_metrics = dict(current.ModelMetrics.Metrics) if current and current.ModelMetrics else None
    checks = {name for name, ok in (("data_quality", validation.success), ("evaluation", evaluation.metrics)) if ok}
    decision = evaluate_policy(load_policy(path), environment, evaluation.metrics, current_metrics, checks)
    result = PolicyGateResult(
        passed=decision.passed,
        environment=environment,
        policy_file=str(path),
        rules=tuple(PolicyRuleResult(**r.model_dump()) for r in decision.results),
        reasons=decision.reasons,
        table=decision.as_markdown(),
        current=None
        if current is None
        else CurrentModel(
            version=current.ModelPackageVersion, metrics=current_metrics or {}, approved_by=current.ApprovedBy
        ),
    )
    if not decision.passed:
        group, version = evaluation.group, evaluation.version
        comment = f"failed the {environment} promotion policy ({path.name}): " + "; ".join(decision.reasons)
        registry = open_registry(settings)
        package = registry.describe_model_package(group, version)
        if package.ModelApprovalStatus is ModelApprovalStatus.PendingManualApproval:
            reject(registry, group, version, approved_by="promotion-policy", comment=comment)
        raise PolicyRejected(f"{group} version {version} was Rejected: {comment}")
    return result


def record_decision(
    settings: Settings, group: str, version: int, approved: bool, approved_by: str, comment: str = ""
) -> RecordedDecision:
    """The human decision, in the registry: Approved or Rejected with the approver's identity. A retry
    that finds the decision already recorded leaves it as it is."""
    from mlops.services.registry import approve, open_registry, reject

    registry = open_registry(settings)
    package = registry.describe_model_package(group, version)
    wanted = ModelApprovalStatus.Approved if approved else ModelApprovalStatus.Rejected
    if package.ModelApprovalStatus is not wanted:
        act = approve if approved else reject
        package = act(registry, group, version, approved_by=approved_by, comment=comment)
    return RecordedDecision(
        **_package_summary(package).model_dump(), approved_by=package.ApprovedBy, comment=package.ApprovalDescription
    )
