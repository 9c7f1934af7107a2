"""Training job records on disk: one folder per job holding job.json (the DescribeTrainingJob record),
the log, the metric history and the job's own /opt/ml tree. The folder, its request and record are
``mlops.jobs.records.RecordStore``'s (atomic writes, SageMaker's naming rule, folders 0700 and files 0600);
this adds the paths and files only a training job has."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from mlops.core.files import private_opener, write_atomic
from mlops.core.ids import check_name
from mlops.core.training import MetricData, TrainingJob, TrainingJobRequest
from mlops.jobs.records import RecordStore


class JobStore(RecordStore[TrainingJobRequest, TrainingJob]):
    def __init__(self, root: Path) -> None:
        super().__init__(
            root,
            TrainingJobRequest,
            TrainingJob,
            name_field="TrainingJobName",
            check_name=check_name,
            noun="training job",
            hint="List jobs with `mlops jobs`.",
        )

    def contract_root(self, name: str) -> Path:
        return self.folder(name) / "opt" / "ml"

    def log_path(self, name: str) -> Path:
        return self.folder(name) / "log.txt"

    def metrics_path(self, name: str) -> Path:
        return self.folder(name) / "metrics.jsonl"

    def append_metric(self, name: str, metric: MetricData) -> None:
        with open(self.metrics_path(name), "a", opener=private_opener) as f:
            f.write(metric.model_dump_json() + "\n")

    def metrics(self, name: str) -> list[MetricData]:
        path = self.metrics_path(name)
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            if line.strip():
                out.append(MetricData.model_validate_json(line))
        return out

    def write_private(self, name: str, filename: str, data: dict[str, object]) -> None:
        write_atomic(self.folder(name) / filename, json.dumps(data, indent=2, default=_default))

    def read_private(self, name: str, filename: str) -> dict[str, object]:
        path = self.folder(name) / filename
        return json.loads(path.read_text()) if path.exists() else {}


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
