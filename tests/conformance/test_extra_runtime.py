"""The runtime extra_runtime.py registers from the tests is a runtime like the built-in ones: the
services find it by name through the table, its jobs' supervisors run its own executor (found through
the launch record, in their own process), and the whole conformance suite runs on it (conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.training import TrainingJobStatus
from mlops.data.churn_sample import DemoFiles
from mlops.runtime.table import runtime_names
from mlops.services.runtimes import training_runtime
from mlops.settings import Settings
from tests.conformance import extra_runtime
from tests.conformance.conftest import XGB, make_request


def test_a_runtime_registered_from_the_tests_runs_jobs_through_its_own_executor(
    tmp_path: Path, churn: DemoFiles, conformance_algorithms: AlgorithmCatalog
) -> None:
    assert extra_runtime.NAME in runtime_names()
    settings = Settings(home=tmp_path / "home", algorithms_dir=conformance_algorithms.root)
    runtime = training_runtime(settings, extra_runtime.NAME)
    assert isinstance(runtime, extra_runtime.ScratchProcessRuntime)
    request = make_request(
        "extra",
        {"train": str(churn.train), "validation": str(churn.validation)},
        {**XGB, "num_round": "2"},
        settings.artifacts,
        catalog=conformance_algorithms,
    )
    runtime.create_training_job(request)
    job = runtime.wait("extra", poll_seconds=0.05)
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    assert job.RuntimeName == extra_runtime.NAME and job.ModelArtifacts is not None
    folder = settings.jobs_dir.resolve() / "extra"
    launch = json.loads((folder / "launch.json").read_text())
    assert launch["runtime"] == extra_runtime.NAME
    assert launch["executor"] == "tests.conformance.extra_runtime:start_in_scratch"
    first = runtime.log_path("extra").read_text().splitlines()[0]
    assert first == f"{extra_runtime.SCRATCH_MARKER} {folder / 'scratch'}"
    assert (folder / "scratch").is_dir()
