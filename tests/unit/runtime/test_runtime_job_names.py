"""A training request reaches a job folder and an algorithm folder only through checked names: an
AlgorithmName or a job name that is a path is refused, naming the field, and no ``train`` runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError as PydanticValidationError

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import ValidationError
from mlops.core.training import AlgorithmSpecification, OutputDataConfig, TrainingJobRequest
from mlops.runtime.job_store import JobStore
from mlops.runtime.local_process import LocalProcessRuntime

TRAIN = "#!/usr/bin/env python3\nfrom pathlib import Path\n(Path(__file__).parent / 'trained').write_text('x')\n"
SPEC = {
    "AlgorithmName": "evil",
    "TrainingSpecification": {},
    "InferenceSpecification": {"SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
}


def _evil_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "algorithm.json").write_text(json.dumps(SPEC))
    (folder / "train").write_text(TRAIN)
    (folder / "train").chmod(0o755)
    return folder


def test_a_training_request_naming_an_algorithm_outside_the_catalog_runs_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "algorithms").mkdir(parents=True)
    evil = _evil_folder(tmp_path / "tmp" / "evil")  # ../../tmp/evil from the catalog
    payload = {
        "TrainingJobName": "job",
        "AlgorithmSpecification": {"AlgorithmName": "../../tmp/evil"},
        "OutputDataConfig": {"S3OutputPath": str(tmp_path / "out")},
    }
    # at the edge: the request record itself
    with pytest.raises(PydanticValidationError) as e:
        TrainingJobRequest.model_validate(payload)
    assert [".".join(map(str, err["loc"])) for err in e.value.errors()] == ["AlgorithmSpecification.AlgorithmName"]
    # and below it: a request that skipped validation still cannot pick the folder
    request = TrainingJobRequest.model_construct(
        TrainingJobName="job",
        AlgorithmSpecification=AlgorithmSpecification.model_construct(AlgorithmName="../../tmp/evil"),
        OutputDataConfig=OutputDataConfig(S3OutputPath=str(tmp_path / "out")),
    )
    runtime = LocalProcessRuntime(home / "jobs", AlgorithmCatalog(home / "algorithms"))
    with pytest.raises(ValidationError) as raised:
        runtime.create_training_job(request)
    assert raised.value.field == "AlgorithmName"
    assert not (home / "jobs").exists() and not (evil / "trained").exists()


@pytest.mark.parametrize("name", ["../x", "x\n", "/abs", ".."])
def test_the_job_store_refuses_a_job_name_that_is_a_path(tmp_path: Path, name: str) -> None:
    store = JobStore(tmp_path / "jobs")
    for call in (store.folder, store.load, store.request, store.metrics):
        with pytest.raises(ValidationError) as e:
            call(name)
        assert e.value.field == "TrainingJobName"


def test_the_job_store_refuses_a_job_folder_linked_elsewhere(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs")
    store.root.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (store.root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ValidationError, match="leads outside"):
        store.write_private("linked", "launch.json", {"runtime": "local"})
    assert not (tmp_path / "elsewhere" / "launch.json").exists()
