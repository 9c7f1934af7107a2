"""A tuning job's folder is its owner's alone, as a training job's is: folder 0700, files 0600."""

from __future__ import annotations

import stat
from pathlib import Path

from mlops.core.tuning_job import TuningJobRequest
from mlops.tuning.job_store import TuningJobStore

REQUEST = {
    "HyperParameterTuningJobName": "hpo",
    "HyperParameterTuningJobConfig": {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 2},
        "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]},
    },
    "TrainingJobDefinition": {
        "AlgorithmSpecification": {"AlgorithmName": "xgboost"},
        "InputDataConfig": [],
        "OutputDataConfig": {"S3OutputPath": "/tmp/artifacts"},
    },
}


def test_a_tuning_job_folder_is_private(tmp_path: Path) -> None:
    store = TuningJobStore(tmp_path / "tuning-jobs")
    folder = store.reserve(TuningJobRequest.model_validate(REQUEST))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "request.json").stat().st_mode) == 0o600
