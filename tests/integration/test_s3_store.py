"""The artifact store on S3, against moto's S3 server over real HTTP, and a training job that reads
its channel from s3:// and writes its model.tar.gz to s3://."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.cli import main
from mlops.core.errors import NotFoundError
from mlops.core.training import SecondaryStatus, TrainingJobStatus
from mlops.data.churn_sample import DemoFiles
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.runtime.local_server import fetch_model
from mlops.services.training import TrainingInput, train
from mlops.settings import Settings
from mlops.store import open_store
from tests.conftest import make_bucket


@pytest.fixture(scope="module", autouse=True)
def _bucket(s3_endpoint: str) -> str:
    return make_bucket(s3_endpoint, "mlops-test")


def test_put_get_list_over_http(s3_endpoint: str, tmp_path: Path) -> None:
    store = open_store("s3://mlops-test/x")
    local = tmp_path / "a.bin"
    local.write_bytes(b"\x00" * 1000 + b"end")
    store.put_file(local, "s3://mlops-test/data/a.bin")
    store.put_bytes(b"hello", "s3://mlops-test/data/sub/b.txt")
    assert store.list("s3://mlops-test/data") == ["s3://mlops-test/data/a.bin", "s3://mlops-test/data/sub/b.txt"]
    assert store.get_bytes("s3://mlops-test/data/sub/b.txt") == b"hello"
    assert store.get_file("s3://mlops-test/data/a.bin", tmp_path / "copy.bin").read_bytes() == local.read_bytes()
    assert store.exists("s3://mlops-test/data/a.bin") and not store.exists("s3://mlops-test/nothing")
    with pytest.raises(NotFoundError, match="s3://mlops-test/missing"):
        store.get_bytes("s3://mlops-test/missing")
    with pytest.raises(NotFoundError):
        store.get_file("s3://mlops-test/missing", tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_training_reads_s3_channels_and_writes_s3_artifacts(s3_endpoint: str, churn: DemoFiles, tmp_path: Path) -> None:
    store = open_store("s3://mlops-test")
    store.put_file(churn.train, "s3://mlops-test/churn/train/part-0.csv")
    store.put_file(churn.validation, "s3://mlops-test/churn/validation/part-0.csv")
    settings = Settings(home=tmp_path / "home")
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    job = train(
        LocalProcessRuntime(settings.jobs_dir, catalog),
        catalog,
        TrainingInput(
            "xgboost",
            {"train": "s3://mlops-test/churn/train/", "validation": "s3://mlops-test/churn/validation"},
            {"objective": "binary:logistic", "num_round": "5", "nthread": "1"},
        ),
        "s3://mlops-test/models",
    )
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    uri = job.ModelArtifacts.S3ModelArtifacts  # type: ignore[union-attr]
    assert uri == f"s3://mlops-test/models/{job.TrainingJobName}/output/model.tar.gz"
    layout = fetch_model(uri, job.ModelArtifactSha256, tmp_path / "serve")
    assert (layout.model_dir / "xgboost-model").exists()


HOSTILE_KEY = "train/../../../../{name}"


def _escape_target(folder: Path, key: str, prefix: str) -> Path:
    """Where the key would have landed under ``folder`` had it been joined as it is."""
    return Path(os.path.normpath(folder / key[len(prefix) :].lstrip("/")))


def test_a_training_channel_with_a_key_leading_out_of_its_folder_is_refused(
    s3_endpoint: str, churn: DemoFiles, tmp_path: Path
) -> None:
    name = f"escaped-{uuid.uuid4().hex[:8]}.csv"
    prefix = "hostile-channel/"
    key = prefix + HOSTILE_KEY.format(name=name)
    store = open_store("s3://mlops-test")
    store.put_file(churn.train, f"s3://mlops-test/{prefix}train/part-0.csv")
    store.put_file(churn.train, f"s3://mlops-test/{key}")
    settings = Settings(home=tmp_path / "home")
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    job = train(
        LocalProcessRuntime(settings.jobs_dir, catalog),
        catalog,
        TrainingInput(
            "xgboost",
            {"train": f"s3://mlops-test/{prefix}train/"},
            {"objective": "binary:logistic", "num_round": "2", "nthread": "1"},
        ),
        "s3://mlops-test/models",
    )
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    assert f"s3://mlops-test/{key}" in (job.FailureReason or ""), job.FailureReason
    assert SecondaryStatus.Training not in [t.Status for t in job.SecondaryStatusTransitions]  # train never ran
    staging = settings.jobs_dir / job.TrainingJobName / "opt" / "ml" / "input" / "data" / "train"
    assert not _escape_target(staging, key, prefix + "train/").exists()
    assert not list(tmp_path.rglob(name)) and not list(staging.glob("*"))  # nothing fetched, not even part-0


def test_data_ingest_with_a_key_leading_out_of_its_folder_is_refused(
    s3_endpoint: str, churn: DemoFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"escaped-{uuid.uuid4().hex[:8]}.csv"
    prefix = "hostile-ingest/"
    key = prefix + HOSTILE_KEY.format(name=name)
    store = open_store("s3://mlops-test")
    store.put_file(churn.table, f"s3://mlops-test/{prefix}train/part-0.csv")
    store.put_file(churn.table, f"s3://mlops-test/{key}")
    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    assert main(["data", "ingest", "hostile", "--source", f"s3://mlops-test/{prefix}train/", "--label", "churn"]) == 2
    assert f"s3://mlops-test/{key}" in capsys.readouterr().err
    # the fetch folder is HOME/datasets/.fetch-…: four levels up is tmp_path's parent
    assert not (tmp_path.parent / name).exists() and not list(tmp_path.rglob(name))
    assert not (home / "datasets" / "hostile").exists()
