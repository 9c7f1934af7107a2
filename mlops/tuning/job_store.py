"""Tuning job records on disk: one folder per tuning job (request, record, runner log, convergence plot),
``mlops.jobs.records.RecordStore``'s: atomic writes, so the CLI, Airflow and the runner can read while the
runner writes; the name checked by SageMaker's tuning rule; folders 0700 and files 0600."""

from __future__ import annotations

from pathlib import Path

from mlops.core.ids import check_tuning_job_name
from mlops.core.tuning_job import TuningJob, TuningJobRequest
from mlops.jobs.records import RecordStore


class TuningJobStore(RecordStore[TuningJobRequest, TuningJob]):
    def __init__(self, root: Path) -> None:
        super().__init__(
            root,
            TuningJobRequest,
            TuningJob,
            name_field="HyperParameterTuningJobName",
            check_name=check_tuning_job_name,
            noun="tuning job",
            hint="List tuning jobs with `mlops tuning-jobs`.",
        )
