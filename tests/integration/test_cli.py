"""The `mlops` command as a user types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mlops.data.churn_sample import DemoFiles


def mlops(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLOPS_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "mlops.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_train_jobs_describe_logs(tmp_path: Path, churn: DemoFiles) -> None:
    home = tmp_path / "home"
    out = mlops(
        "train",
        "--algorithm",
        "xgboost",
        "--train",
        str(churn.train),
        "--validation",
        str(churn.validation),
        "--hp",
        "objective=binary:logistic",
        "--hp",
        "num_round=30",
        "--hp",
        "max_depth=3",
        "--hp",
        "eta=0.2",
        "--job-name",
        "cli-job",
        home=home,
    ).stdout
    assert "training job cli-job on the local runtime" in out
    for status in ("Starting", "Training", "Uploading", "Completed"):
        assert status in out
    assert "validation:auc=" in out
    assert f"model artifact: {home}/artifacts/cli-job/output/model.tar.gz" in out

    listing = mlops("jobs", home=home).stdout
    assert "cli-job" in listing and "Completed" in listing and "validation:auc=" in listing

    record = json.loads(mlops("jobs", "describe", "cli-job", home=home).stdout)
    for key in (
        "TrainingJobName",
        "TrainingJobStatus",
        "SecondaryStatus",
        "FailureReason",
        "FinalMetricDataList",
        "ModelArtifacts",
        "HyperParameters",
        "InputDataConfig",
        "TrainingStartTime",
        "TrainingEndTime",
        "SecondaryStatusTransitions",
        "CreationTime",
    ):
        assert key in record
    assert record["ModelArtifacts"]["S3ModelArtifacts"].endswith("cli-job/output/model.tar.gz")
    assert record["HyperParameters"]["num_round"] == "30"

    assert "#metric validation:auc=" in mlops("logs", "cli-job", home=home).stdout

    evaluation = mlops("evaluate", "cli-job", "--test", str(churn.test), home=home).stdout
    assert "auc" in evaluation and "(binary)" in evaluation


def test_bad_input_gives_one_clear_line(tmp_path: Path, churn: DemoFiles) -> None:
    home = tmp_path / "home"
    result = mlops(
        "train",
        "--algorithm",
        "xgboost",
        "--train",
        str(churn.train),
        "--hp",
        "num_round=10",
        "--hp",
        "eta=2",
        home=home,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: hyperparameter eta: 2 is out of range; valid: a number in [0, 1]"
    result = mlops("jobs", "describe", "nope", home=home, check=False)
    assert result.returncode == 2 and "training job 'nope' not found" in result.stderr
    result = mlops("train", "--algorithm", "nope", "--train", str(churn.train), home=home, check=False)
    assert result.returncode == 2 and "Known algorithms:" in result.stderr


def test_help_teaches(tmp_path: Path) -> None:
    top = mlops("--help", home=tmp_path).stdout
    assert "examples:" in top and "mlops train --algorithm xgboost" in top
    train = mlops("train", "--help", home=tmp_path).stdout
    assert "--hp NAME=VALUE" in train and "mlops algorithms describe NAME" in train
    described = mlops("algorithms", "describe", "xgboost", home=tmp_path).stdout
    assert "num_round" in described and "(required)" in described and "validation:auc (Maximize)" in described


def test_tune_shows_progress_and_ends_with_the_best_job(tmp_path: Path, churn: DemoFiles) -> None:
    from tests.conftest import FIXTURE_ALGORITHMS

    home = tmp_path / "home"
    env_args = ("--algorithm", "curve", "--train", str(churn.train))  # curve reads no data; any real split will do
    os.environ["MLOPS_ALGORITHMS_DIR"] = str(FIXTURE_ALGORITHMS)
    try:
        out = mlops("tune", *env_args, "--objective", "validation:score", "--strategy", "random",
                    "--range", "quality=0.5:5", "--static", "steps=3", "--static", "pace=0",
                    "--max-jobs", "3", "--max-parallel", "2", "--name", "cli-tune", home=home).stdout
        assert "tuning job cli-tune: Random search of validation:score (Maximize), up to 3 jobs, 2 in parallel" in out
        assert "3/3 done (3 completed, 0 stopped, 0 failed), 0 running  best validation:score=" in out
        assert "best training job: cli-tune-" in out and "hyperparameters: quality=" in out
        assert "convergence plot: " in out and out.strip().endswith("convergence.png")
        record = json.loads(mlops("tuning-jobs", "describe", "cli-tune", home=home).stdout)
        for key in ("HyperParameterTuningJobStatus", "BestTrainingJob", "TrainingJobStatusCounters",
                    "ObjectiveStatusCounters", "HyperParameterTuningJobConfig", "TrainingJobDefinition"):
            assert key in record
        assert record["TrainingJobStatusCounters"]["Completed"] == 3
        assert "cli-tune" in mlops("tuning-jobs", home=home).stdout
        bad = mlops("tune", *env_args, "--objective", "validation:score", "--range", "quality=5:1", "--max-jobs", "3",
                    home=home, check=False)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "quality" in bad.stderr
    finally:
        del os.environ["MLOPS_ALGORITHMS_DIR"]
