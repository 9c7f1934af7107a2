"""Tracking use case: record a finished training job as an experiment run — hyperparameters as params,
the per-step metric history and the FinalMetricDataList as metrics, the dataset version and split, the
model artifact's URI and sha256 — so runs can be compared and a registered model traced to its run."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mlops.core.datasets import DatasetSplit, DatasetVersion
from mlops.core.training import MetricData, TrainingJob, TrainingJobStatus
from mlops.data.dataset_store import DatasetStore
from mlops.registry.interface import Tracker
from mlops.registry.mlflow_tracker import MlflowTracker
from mlops.settings import Settings

JOB_TAG = "mlops.TrainingJobName"
_RUN_STATUS = {
    TrainingJobStatus.Completed: "FINISHED",
    TrainingJobStatus.Failed: "FAILED",
    TrainingJobStatus.Stopped: "KILLED",
}


def open_tracker(settings: Settings, experiment: str | None = None) -> MlflowTracker:
    """The tracker on ``settings.mlflow_uri``; with the embedded SQLite store artifacts go under HOME."""
    uri = settings.mlflow_uri
    remote = uri.startswith(("http://", "https://", "databricks"))
    root = None if remote else settings.paths.mlflow_artifacts.resolve().as_uri()
    return MlflowTracker(uri, artifact_root=root, **({"experiment": experiment} if experiment else {}))


def job_data(datasets: DatasetStore | None, job: TrainingJob) -> tuple[DatasetVersion | None, DatasetSplit | None]:
    """The dataset version and split a job's train channel came from, when it lives in the dataset store."""
    if datasets is None:
        return None, None
    for channel in job.InputDataConfig:
        if channel.ChannelName == "train":
            found = datasets.find_by_path(channel.DataSource.S3DataSource.S3Uri)
            if found is not None:
                return found
    return None, None


def track_training_job(
    tracker: Tracker,
    job: TrainingJob,
    dataset_version: DatasetVersion | None = None,
    split: DatasetSplit | None = None,
    history: Sequence[MetricData] | None = None,
    parent_run_id: str | None = None,
    experiment: str | None = None,
    datasets: DatasetStore | None = None,
) -> str:
    """Log a finished job as a run and return its id. Idempotent: a job already tracked returns its run.

    ``history``: the job's per-step metrics (``runtime.metric_history(name)``); ``parent_run_id`` nests the
    run under a tuning job's run; ``datasets`` lets the dataset version and split be found from the job's
    channels when they are not given.
    """
    existing = tracker.find_run(JOB_TAG, job.TrainingJobName, experiment)
    if existing is not None:
        return existing.RunId
    if dataset_version is None and datasets is not None:
        dataset_version, found_split = job_data(datasets, job)
        split = split or found_split
    algorithm = job.AlgorithmSpecification
    tags = {
        JOB_TAG: job.TrainingJobName,
        "mlops.TrainingJobArn": job.TrainingJobArn,
        "mlops.TrainingJobStatus": job.TrainingJobStatus.value,
        "mlops.RuntimeName": job.RuntimeName,
        "mlops.AlgorithmName": algorithm.AlgorithmName or "",
        "mlops.TrainingImage": algorithm.TrainingImage or "",
        "mlops.ModelDataUrl": job.ModelArtifacts.S3ModelArtifacts if job.ModelArtifacts else "",
        "mlops.ModelArtifactSha256": job.ModelArtifactSha256 or "",
        "mlops.FailureReason": (job.FailureReason or "")[:1000],
        **{f"mlops.channel.{c.ChannelName}": c.DataSource.S3DataSource.S3Uri for c in job.InputDataConfig},
    }
    if dataset_version is not None:
        tags.update(
            {
                "mlops.DatasetName": dataset_version.DatasetName,
                "mlops.DatasetVersion": dataset_version.Version,
                "mlops.DatasetVersionNumber": str(dataset_version.VersionNumber),
            }
        )
    if split is not None:
        tags.update(
            {
                "mlops.SplitId": split.SplitId,
                "mlops.SplitMethod": split.Method.value,
                "mlops.SplitSeed": str(split.Seed),
            }
        )
    tags = {k: v for k, v in tags.items() if v}
    run_id = tracker.start_run(
        job.TrainingJobName, tags, parent_run_id, experiment, job.TrainingStartTime or job.CreationTime
    )
    tracker.log_params(run_id, job.HyperParameters)
    tracker.log_metrics(run_id, _metrics(job, history or ()))
    if dataset_version is not None:
        schema = json.dumps({"columns": [{"name": c.Name, "type": c.Type.value} for c in dataset_version.Schema]})
        tracker.log_dataset(
            run_id,
            dataset_version.DatasetName,
            dataset_version.Version,
            dataset_version.TableUri,
            schema,
            context=f"split {split.SplitId}" if split is not None else "training",
        )
    tracker.end_run(
        run_id, _RUN_STATUS.get(job.TrainingJobStatus, "RUNNING"), job.TrainingEndTime or job.LastModifiedTime
    )
    return run_id


def _metrics(job: TrainingJob, history: Sequence[MetricData]) -> list[MetricData]:
    """The history as it was emitted, then each final value at its metric's last step, so the run's
    summary (MLflow's latest value) is the FinalMetricDataList even after early stopping."""
    out = list(history)
    last_step: dict[str, int] = {}
    last_value: dict[str, float] = {}
    for m in history:
        step = m.Step or 0
        if step >= last_step.get(m.MetricName, -1):
            last_step[m.MetricName], last_value[m.MetricName] = step, m.Value
    for final in job.FinalMetricDataList:
        if last_value.get(final.MetricName) == final.Value:
            continue
        out.append(final.model_copy(update={"Step": last_step.get(final.MetricName, 0)}))
    return out
