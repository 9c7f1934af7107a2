"""Tuning job records on disk: one folder per tuning job (request, record, runner log, convergence plot).
Writes are atomic renames, so the CLI, Airflow and the runner can read while the runner writes. Every
path goes through ``folder``, which refuses a bad name or a folder resolving outside the store."""

from __future__ import annotations

from pathlib import Path

from mlops.core.errors import ConflictError, NotFoundError
from mlops.core.files import path_under, write_atomic
from mlops.core.ids import check_tuning_job_name
from mlops.core.tuning_job import TuningJob, TuningJobRequest


class TuningJobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def folder(self, name: str) -> Path:
        """The tuning job's folder: the name is checked and must stay in the store."""
        field = "HyperParameterTuningJobName"
        return path_under(self.root, check_tuning_job_name(field, name), field=field)

    def reserve(self, request: TuningJobRequest) -> Path:
        folder = self.folder(request.HyperParameterTuningJobName)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir()
        except FileExistsError:
            raise ConflictError(f"a tuning job named {request.HyperParameterTuningJobName!r} already exists") from None
        write_atomic(folder / "request.json", request.model_dump_json(indent=2))
        return folder

    def request(self, name: str) -> TuningJobRequest:
        path = self.folder(name) / "request.json"
        if not path.exists():
            raise NotFoundError("tuning job", name, "List tuning jobs with `mlops tuning-jobs`.")
        return TuningJobRequest.model_validate_json(path.read_text())

    def save(self, job: TuningJob) -> TuningJob:
        write_atomic(self.folder(job.HyperParameterTuningJobName) / "job.json", job.model_dump_json(indent=2))
        return job

    def load(self, name: str) -> TuningJob:
        path = self.folder(name) / "job.json"
        if not path.exists():
            raise NotFoundError("tuning job", name, "List tuning jobs with `mlops tuning-jobs`.")
        return TuningJob.model_validate_json(path.read_text())

    def exists(self, name: str) -> bool:
        return (self.folder(name) / "job.json").exists()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob("*/job.json"))
