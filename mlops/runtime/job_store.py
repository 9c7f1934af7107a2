"""Job records on disk: one folder per job holding job.json (the DescribeTrainingJob record),
the log, the metric history and the job's own /opt/ml tree. Writes are atomic renames, so a
reader never sees half a record and a record survives the death of whoever launched the job. Every path
goes through ``folder``, which refuses a name outside SageMaker's rule or a folder resolving elsewhere.
Job folders are made 0700 and the files in them 0600: nobody but their owner reads a job."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from mlops.core.errors import ConflictError, NotFoundError
from mlops.core.files import PRIVATE_FOLDER_MODE, path_under, private_opener, write_atomic
from mlops.core.ids import check_name
from mlops.core.training import MetricData, TrainingJob, TrainingJobRequest


class JobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()  # processes started elsewhere (cwd of an algorithm) must find it

    def folder(self, name: str) -> Path:
        """The job's folder: the name is checked (SageMaker's rule) and must stay in the store."""
        return path_under(self.root, check_name("TrainingJobName", name), field="TrainingJobName")

    def contract_root(self, name: str) -> Path:
        return self.folder(name) / "opt" / "ml"

    def log_path(self, name: str) -> Path:
        return self.folder(name) / "log.txt"

    def metrics_path(self, name: str) -> Path:
        return self.folder(name) / "metrics.jsonl"

    def reserve(self, request: TrainingJobRequest) -> Path:
        folder = self.folder(request.TrainingJobName)
        self.root.mkdir(PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
        try:
            folder.mkdir(PRIVATE_FOLDER_MODE)  # what a job holds (data, model, log, record) is its owner's
        except FileExistsError:
            raise ConflictError(f"a training job named {request.TrainingJobName!r} already exists") from None
        write_atomic(folder / "request.json", request.model_dump_json(indent=2))
        return folder

    def request(self, name: str) -> TrainingJobRequest:
        path = self.folder(name) / "request.json"
        if not path.exists():
            raise NotFoundError("training job", name)
        return TrainingJobRequest.model_validate_json(path.read_text())

    def save(self, job: TrainingJob) -> TrainingJob:
        write_atomic(self.folder(job.TrainingJobName) / "job.json", job.model_dump_json(indent=2))
        return job

    def load(self, name: str) -> TrainingJob:
        path = self.folder(name) / "job.json"
        if not path.exists():
            raise NotFoundError("training job", name, "List jobs with `mlops jobs`.")
        return TrainingJob.model_validate_json(path.read_text())

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob("*/job.json"))

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
