"""The Tracker on MLflow, through ``mlflow.MlflowClient`` only (no global active run, so concurrent jobs,
threads and tuning trials never share state)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops.core.clock import utcnow
from mlops.core.errors import NotFoundError
from mlops.core.registry import TrackedRun
from mlops.core.training import MetricData
from mlops.registry.mlflow_client import call, client, from_millis, millis, translated

DEFAULT_EXPERIMENT = "mlops-training"
_BATCH = 1000  # MLflow's log_batch limit on metrics per call
PARENT_TAG = "mlflow.parentRunId"


class MlflowTracker:
    def __init__(self, uri: str, artifact_root: str | None = None, experiment: str = DEFAULT_EXPERIMENT) -> None:
        """``artifact_root``: where new experiments keep artifacts (a file:// URI for the embedded SQLite
        store); leave it None for a tracking server, which decides."""
        self.uri = uri
        self.artifact_root = artifact_root
        self.experiment = experiment
        self._experiments: dict[str, str] = {}

    @property
    def _client(self):  # type: ignore[no-untyped-def]
        return client(self.uri)

    def experiment_id(self, name: str | None = None) -> str:
        name = name or self.experiment
        if name in self._experiments:
            return self._experiments[name]
        with translated(f"experiment {name}"):
            found = self._client.get_experiment_by_name(name)
            if found is not None:
                experiment_id = str(found.experiment_id)
            else:
                location = f"{self.artifact_root.rstrip('/')}/{name}" if self.artifact_root else None
                try:
                    experiment_id = str(self._client.create_experiment(name, artifact_location=location))
                except Exception:  # created meanwhile by another process
                    again = self._client.get_experiment_by_name(name)
                    if again is None:
                        raise
                    experiment_id = str(again.experiment_id)
        self._experiments[name] = experiment_id
        return experiment_id

    def find_run(self, tag: str, value: str, experiment: str | None = None) -> TrackedRun | None:
        quoted = value.replace("'", "\\'")
        runs = call(
            "runs",
            self._client.search_runs,
            [self.experiment_id(experiment)],
            filter_string=f"tags.`{tag}` = '{quoted}'",
            max_results=1,
        )
        return _run(runs[0]) if runs else None

    def start_run(
        self,
        name: str,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        experiment: str | None = None,
        start_time: datetime | None = None,
    ) -> str:
        all_tags = dict(tags or {})
        if parent_run_id:
            self.get_run(parent_run_id)  # refuse a parent that does not exist
            all_tags[PARENT_TAG] = parent_run_id
        run = call(
            f"run {name}",
            self._client.create_run,
            self.experiment_id(experiment),
            start_time=millis(start_time),
            tags=all_tags,
            run_name=name,
        )
        return str(run.info.run_id)

    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        entities = _entities()

        items = [entities.Param(k, str(v)) for k, v in params.items()]
        for start in range(0, len(items), 100):
            call(f"run {run_id}", self._client.log_batch, run_id, params=items[start : start + 100])

    def log_metrics(self, run_id: str, metrics: Sequence[MetricData]) -> None:
        entities = _entities()

        items = [
            entities.Metric(m.MetricName, float(m.Value), millis(m.Timestamp) or 0, m.Step if m.Step is not None else 0)
            for m in metrics
        ]
        for start in range(0, len(items), _BATCH):
            call(f"run {run_id}", self._client.log_batch, run_id, metrics=items[start : start + _BATCH])

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        entities = _entities()

        items = [entities.RunTag(k, str(v)) for k, v in tags.items()]
        for start in range(0, len(items), 100):
            call(f"run {run_id}", self._client.log_batch, run_id, tags=items[start : start + 100])

    def log_dataset(
        self, run_id: str, name: str, digest: str, source: str, schema: str = "", context: str = "training"
    ) -> None:
        """MLflow's dataset entity (shown under "Datasets used" in its UI)."""
        entities = _entities()
        Dataset, DatasetInput, InputTag = entities.Dataset, entities.DatasetInput, entities.InputTag

        dataset = Dataset(name=name, digest=digest[:36], source_type="local", source=source, schema=schema or None)
        entry = DatasetInput(dataset=dataset, tags=[InputTag(key="mlflow.data.context", value=context)])
        call(f"run {run_id}", self._client.log_inputs, run_id, datasets=[entry])

    def log_artifact(self, run_id: str, local: Path, artifact_path: str | None = None) -> str:
        call(f"run {run_id}", self._client.log_artifact, run_id, str(local), artifact_path)
        base = self.get_run(run_id).ArtifactUri.rstrip("/")
        return "/".join(p for p in (base, artifact_path, local.name) if p)

    def end_run(self, run_id: str, status: str = "FINISHED", end_time: datetime | None = None) -> None:
        call(f"run {run_id}", self._client.set_terminated, run_id, status=status, end_time=millis(end_time or utcnow()))

    def get_run(self, run_id: str) -> TrackedRun:
        try:
            return _run(call("tracking run", self._client.get_run, run_id))
        except NotFoundError:
            raise NotFoundError("tracking run", run_id) from None

    def metric_history(self, run_id: str, name: str) -> list[MetricData]:
        history = call(f"run {run_id}", self._client.get_metric_history, run_id, name)
        return [
            MetricData(MetricName=m.key, Value=m.value, Timestamp=from_millis(m.timestamp) or utcnow(), Step=m.step)
            for m in sorted(history, key=lambda m: (m.step, m.timestamp))
        ]


def _entities() -> Any:
    return importlib.import_module("mlflow.entities")


def _run(run: object) -> TrackedRun:
    info, data = run.info, run.data  # type: ignore[attr-defined]
    tags = {k: v for k, v in data.tags.items()}
    return TrackedRun(
        RunId=info.run_id,
        RunName=info.run_name or tags.get("mlflow.runName", ""),
        ExperimentId=str(info.experiment_id),
        Status=str(info.status),
        ParentRunId=tags.get(PARENT_TAG),
        Params=dict(data.params),
        Metrics={k: float(v) for k, v in data.metrics.items()},
        Tags=tags,
        ArtifactUri=str(info.artifact_uri),
        StartTime=from_millis(info.start_time),
        EndTime=from_millis(info.end_time),
    )
