"""What of the launcher's environment an algorithm's local process gets: the allow-list only."""

from __future__ import annotations

from pathlib import Path

from mlops.contract.layout import Layout
from mlops.core.training import AlgorithmSpecification, OutputDataConfig, ResourceConfig, TrainingJobRequest
from mlops.runtime.executor import training_environment

LAUNCHER = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/ops",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "TMPDIR": "/var/tmp",
    "OMP_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "60",
    "AWS_ACCESS_KEY_ID": "AKIA-launcher",
    "AWS_SECRET_ACCESS_KEY": "launcher-secret",
    "AWS_SESSION_TOKEN": "launcher-token",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:pw@db/airflow",
    "MLOPS_ALERT_WEBHOOK_URL": "https://hooks.invalid/T0/secret",
    "MLOPS_AIRFLOW_DATABASE": "postgresql://x:pw@db/x",
    "LD_PRELOAD": "/tmp/launcher.so",
    "PYTHONPATH": "/somewhere",
    "GITHUB_TOKEN": "ghp_launcher",
}


def test_only_the_allow_list_of_the_launchers_variables_passes() -> None:
    from mlops.runtime.environment import inherited

    assert inherited(LAUNCHER) == {
        k: LAUNCHER[k]
        for k in (
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TZ",
            "TMPDIR",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "SAGEMAKER_MODEL_SERVER_TIMEOUT",
        )
    }


def test_declared_variables_override_the_launchers_and_the_runtimes_override_both() -> None:
    from mlops.runtime.environment import process_environment

    env = process_environment({"OMP_NUM_THREADS": "1", "MY": "x"}, {"MLOPS_CONTRACT_ROOT": "/job"}, LAUNCHER)
    assert env["OMP_NUM_THREADS"] == "1" and env["MY"] == "x" and env["MLOPS_CONTRACT_ROOT"] == "/job"
    env = process_environment({"MLOPS_CONTRACT_ROOT": "/elsewhere"}, {"MLOPS_CONTRACT_ROOT": "/job"}, LAUNCHER)
    assert env["MLOPS_CONTRACT_ROOT"] == "/job"


def test_a_training_process_gets_no_secret_of_this_process(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name, value in LAUNCHER.items():
        monkeypatch.setenv(name, value)
    request = TrainingJobRequest(
        TrainingJobName="job",
        AlgorithmSpecification=AlgorithmSpecification(AlgorithmName="xgboost"),
        OutputDataConfig=OutputDataConfig(S3OutputPath="/tmp/a"),
        ResourceConfig=ResourceConfig(Cpus=3),
        Environment={"MY_SETTING": "declared"},
    )
    env = training_environment(request, Layout(Path("/jobs/job/opt/ml")))
    assert env["MY_SETTING"] == "declared" and env["MLOPS_CONTRACT_ROOT"] == "/jobs/job/opt/ml"
    assert env["PATH"] == "/usr/bin:/bin" and env["OMP_NUM_THREADS"] == "2"
    leaked = {k for k in env if "AWS" in k or "AIRFLOW" in k or "TOKEN" in k or k.startswith(("LD_", "PYTHONPATH"))}
    assert leaked == set()
    assert not any(k.startswith("MLOPS_") for k in env if k != "MLOPS_CONTRACT_ROOT")
