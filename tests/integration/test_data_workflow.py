"""The data workflow as users run it: ingest (local CSV, Parquet, folders, s3:// on moto's S3 server over
HTTP) into immutable content-addressed versions, splits that rebuild exactly, and the `mlops data` /
`mlops registry` commands from ingest to an aliased, Approved model version (embedded SQLite MLflow)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest

from mlops.cli import main
from mlops.contract.csv_format import read_csv
from mlops.contract.recordio import read_recordio_protobuf
from mlops.core.datasets import DataFormat, SplitMethod
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.data import formats
from mlops.data.churn_sample import DemoFiles
from mlops.data.dataset_store import DatasetStore
from mlops.services import datasets as ds
from tests.conftest import make_bucket

pytestmark = pytest.mark.integration


@pytest.fixture
def store(tmp_path: Path) -> DatasetStore:
    return DatasetStore(tmp_path / "datasets")


@pytest.fixture(scope="module", autouse=True)
def _bucket(s3_endpoint: str) -> str:
    return make_bucket(s3_endpoint, "datasets")


def test_identical_bytes_are_the_same_version_and_new_bytes_the_next(store: DatasetStore, churn: DemoFiles,
                                                                      tmp_path: Path) -> None:
    first = ds.ingest(store, "churn", str(churn.table))
    assert first.created and first.version.VersionNumber == 1 and first.version.RowCount == 3000
    copy = tmp_path / "elsewhere" / "renamed.csv"
    copy.parent.mkdir()
    copy.write_bytes(churn.table.read_bytes())
    again = ds.ingest(store, "churn", str(copy))
    assert not again.created and again.version == first.version  # a version is the hash of the bytes

    parquet = tmp_path / "churn.parquet"
    pd.read_csv(churn.table).to_parquet(parquet, index=False)
    second = ds.ingest(store, "churn", str(parquet)).version
    assert second.VersionNumber == 2 and second.SourceFormat is DataFormat.parquet
    assert second.Version != first.version.Version
    assert second.Encoding.feature_names == first.version.Encoding.feature_names

    assert store.resolve("churn", "1") == first.version and store.resolve("churn", "v2") == second
    assert store.resolve("churn", second.Version[:8]) == second and store.resolve("churn") == second
    with pytest.raises(NotFoundError, match="versions 1..2"):
        store.resolve("churn", "3")
    with pytest.raises(NotFoundError, match="dataset 'nope' not found"):
        store.resolve("nope")

    v = first.version
    assert v.Source == str(churn.table) and v.CreationTime.tzinfo is not None
    assert {c.Name for c in v.Schema} >= {"customer_id", "signup_date", "churn"}
    csv_file, recordio_file = v.file(DataFormat.csv), v.file(DataFormat.recordio)
    with open(csv_file.Uri, "rb") as f:
        data = read_csv(f, "train", csv_file.Uri)
    with open(recordio_file.Uri, "rb") as f:
        records = read_recordio_protobuf(f, "train", recordio_file.Uri)
    assert data.X.shape == (3000, len(v.Encoding.Features)) == records.X.shape
    assert np.array_equal(data.y, records.y) and set(np.unique(data.y)) == {0.0, 1.0}
    assert ds.verify_files(v) == []
    assert (Path(v.TableUri).parent / "source" / churn.table.name).read_bytes() == churn.table.read_bytes()


def test_same_bytes_encoded_differently_is_a_conflict(store: DatasetStore, churn: DemoFiles) -> None:
    ds.ingest(store, "churn", str(churn.table))
    with pytest.raises(ConflictError, match="immutable"):
        ds.ingest(store, "churn", str(churn.table), ds.IngestOptions(keep_columns=("signup_date",)))


def test_a_new_version_can_keep_an_earlier_versions_encoding(store: DatasetStore, churn: DemoFiles,
                                                              tmp_path: Path) -> None:
    first = ds.ingest(store, "churn", str(churn.table)).version
    frame = pd.read_csv(churn.table)
    frame.loc[[7, 8], "contract"] = "weekly"  # a category the first version never saw
    newer = tmp_path / "newer.csv"
    frame.to_csv(newer, index=False)
    own = ds.ingest(store, "churn-own", str(newer), ds.IngestOptions(label="churn")).version
    assert "contract=weekly" in own.Encoding.feature_names
    same = ds.ingest(store, "churn", str(newer), ds.IngestOptions(encoding_from="1")).version
    assert same.VersionNumber == 2 and same.Encoding == first.Encoding
    with open(same.file(DataFormat.csv).Uri, "rb") as f:
        rows = read_csv(f, "train", "data.csv")
    contract = [i for i, name in enumerate(first.Encoding.feature_names) if name.startswith("contract=")]
    assert rows.X[7, contract].sum() == 0 and rows.X[9, contract].sum() == 1
    with pytest.raises(ValidationError, match="drop --label"):
        ds.ingest(store, "churn", str(newer), ds.IngestOptions(encoding_from="1", label="churn"))


def test_folder_of_parts_and_s3_prefix(store: DatasetStore, churn: DemoFiles, tmp_path: Path, s3_endpoint: str) -> None:
    frame = pd.read_csv(churn.table)
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:1000].to_csv(folder / "part-0.csv", index=False)
    frame.iloc[1000:].to_csv(folder / "part-1.csv", index=False)
    (folder / ".hidden.csv").write_text("ignored")
    label = ds.IngestOptions(label="churn")
    local = ds.ingest(store, "parts", str(folder), label).version
    assert local.RowCount == 3000 and local.SourceFiles == ("part-0.csv", "part-1.csv")

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    for name in ("part-0.csv", "part-1.csv"):
        s3.upload_file(str(folder / name), "datasets", f"churn/raw/{name}")
    s3.upload_file(str(churn.table), "datasets", "churn/one/churn.csv")
    from_prefix = ds.ingest(store, "s3parts", "s3://datasets/churn/raw/", label, s3_endpoint).version
    assert from_prefix.RowCount == 3000 and from_prefix.Source == "s3://datasets/churn/raw/"
    from_object = ds.ingest(store, "s3one", "s3://datasets/churn/one/churn.csv", label).version
    assert from_object.Version == ds.ingest(store, "local", str(churn.table), label).version.Version
    assert from_prefix.Version == local.Version  # the same parts' bytes, wherever they live

    with pytest.raises(ValidationError, match="no such S3 object or prefix"):
        ds.ingest(store, "missing", "s3://datasets/churn/nothing-here")


def test_bad_sources_are_refused_and_leave_nothing_behind(
    store: DatasetStore, churn: DemoFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match=r"--source: .*nope.csv does not exist"):
        ds.ingest(store, "churn", str(tmp_path / "nope.csv"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValidationError, match="holds no CSV or Parquet"):
        ds.ingest(store, "churn", str(empty))
    fake = tmp_path / "table.parquet"
    fake.write_bytes(churn.table.read_bytes())
    with pytest.raises(ValidationError, match=r"table.parquet: not a Parquet file"):
        ds.ingest(store, "churn", str(fake))
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.csv"
        locked.write_bytes(churn.table.read_bytes())
        locked.chmod(0)
        with pytest.raises(ValidationError, match="permission denied"):
            ds.ingest(store, "churn", str(locked))
    wrong = tmp_path / "wrong.csv"
    frame = pd.read_csv(churn.table)
    frame.loc[17, "churn"] = 2
    frame.to_csv(wrong, index=False)
    with pytest.raises(ValidationError, match=r"column churn: .*wrong.csv, line 19: label '2' is not one of"):
        ds.ingest(store, "churn", str(wrong), ds.IngestOptions(classes=("0", "1")))

    def explode(*_: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr(formats, "recordio_bytes", explode)
    with pytest.raises(OSError, match="disk full"):
        ds.ingest(store, "churn", str(churn.table))
    assert store.versions("churn") == []
    leftovers = [p for p in store.root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".fetch-")]
    assert leftovers == []


def test_splits_are_recorded_and_rebuild_exactly(store: DatasetStore, churn: DemoFiles) -> None:
    version = ds.ingest(store, "churn", str(churn.table)).version
    split, created = ds.split(store, "churn", "1", ds.SplitRequest(train=0.8, validation=0.1, test=0.1, seed=7))
    assert created and split.Method is SplitMethod.StratifiedHoldout and split.Seed == 7
    assert [p.Rows for p in split.Parts] == [2400, 300, 300]
    assert ds.rebuild_indices(store, split) == split.IndicesSha256
    again, created = ds.split(store, "churn", None, ds.SplitRequest(train=0.8, validation=0.1, test=0.1, seed=7))
    assert not created and again == split
    other, _ = ds.split(store, "churn", None, ds.SplitRequest(seed=8))
    assert other.SplitId != split.SplitId and other.IndicesSha256 != split.IndicesSha256

    labels = {}
    for part in split.Parts:
        with open(part.file(DataFormat.csv).Uri, "rb") as f:
            labels[part.Name] = read_csv(f, part.Name, "x").y
    rates = [labels[n].mean() for n in ("train", "validation", "test")]
    assert max(rates) - min(rates) < 0.01  # stratified on the label

    indices = np.load(split.IndicesUri)
    assert sum(indices[k].size for k in indices.files) == version.RowCount
    found = store.find_by_path(split.part("train").file(DataFormat.csv).Uri)
    assert found == (version, split)

    folds, _ = ds.split(store, "churn", None, ds.SplitRequest(folds=3, test=0.1, seed=1))
    assert folds.Method is SplitMethod.StratifiedKFold and len(folds.Parts) == 7
    timed, _ = ds.split(store, "churn", None, ds.SplitRequest(time_column="signup_date", folds=2))
    table = store.table(version)
    np.load(timed.IndicesUri)
    for k in (1, 2):
        rows = np.load(timed.IndicesUri)
        train, validation = rows[f"fold-{k}__train"], rows[f"fold-{k}__validation"]
        assert table["signup_date"].iloc[train].max() < table["signup_date"].iloc[validation].min()
    assert ds.rebuild_indices(store, timed) == timed.IndicesSha256
    assert [s.SplitId for s in store.splits(version)] == [split.SplitId, other.SplitId, folds.SplitId, timed.SplitId]
    with pytest.raises(ValidationError, match="time-column"):
        ds.split(store, "churn", None, ds.SplitRequest(time_column="gender"))
    with pytest.raises(ValidationError, match="give --test only"):
        ds.split(store, "churn", None, ds.SplitRequest(folds=3, validation=0.2))


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_train_command_split_prints_runs_as_printed(
    churn: DemoFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mlops data split` ends with "train with: mlops train …": a complete command (xgboost needs num_round),
    quoted so that a home whose path has spaces and shell characters still runs as printed."""
    import shlex

    home = tmp_path / "my home; $(x)"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    assert _cli(capsys, "data", "ingest", "churn", "--source", str(churn.table))[0] == 0
    code, out, _ = _cli(capsys, "data", "split", "churn", "--train", "0.8", "--validation", "0.1", "--test", "0.1")
    assert code == 0
    lines = out.splitlines()
    words = shlex.split(lines[lines.index("train with:") + 1])
    assert words[:2] == ["mlops", "train"] and "num_round=100" in words
    code, out, err = _cli(capsys, *words[1:], "--job-name", "as-printed")
    assert code == 0, out + err
    assert "Completed" in out and "validation:auc=" in out


def test_cli_from_ingest_to_an_approved_aliased_model(
    churn: DemoFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    code, out, _ = _cli(capsys, "data", "ingest", "churn", "--source", str(churn.table))
    assert code == 0 and "ingested churn version 1" in out and "label churn (BinaryClassification" in out
    code, out, _ = _cli(capsys, "data", "ingest", "churn", "--source", str(churn.table))
    assert "unchanged" in out and "version 1" in out
    code, out, err = _cli(capsys, "data", "ingest", "churn", "--source", str(tmp_path / "missing.csv"))
    assert code == 2 and "does not exist" in err

    code, out, _ = _cli(capsys, "data", "split", "churn", "--train", "0.8", "--validation", "0.1", "--test", "0.1",
                        "--seed", "7", "--version", "1")
    assert code == 0
    paths = {line.split(":")[0].strip(): line.split()[-1] for line in out.splitlines() if " rows  " in line}
    assert set(paths) == {"train", "validation", "test"} and all(Path(p).exists() for p in paths.values())
    code, out, _ = _cli(capsys, "data", "versions", "churn")
    assert "   1  " in out

    code, out, err = _cli(capsys, "train", "--algorithm", "xgboost", "--train", paths["train"], "--validation",
                          paths["validation"], "--hp", "objective=binary:logistic", "--hp", "num_round=20",
                          "--hp", "max_depth=3", "--hp", "nthread=1", "--job-name", "churn-xgb")
    assert code == 0, out + err
    assert "tracked as MLflow run" in out and "warning" not in err

    code, out, err = _cli(capsys, "registry", "register", "churn", "--job", "churn-xgb", "--evaluate")
    assert code == 0, err
    assert "churn version 1 (PendingManualApproval)" in out and "split " in out and "auc=" in out
    code, out, err = _cli(capsys, "registry", "alias", "churn", "prod", "--version", "1")
    assert code == 2 and "only an Approved version" in err
    code, out, err = _cli(capsys, "registry", "approve", "churn", "--version", "1", "--comment", "good enough",
                          "--approver", "alice")
    assert code == 0 and "approved by alice" in out and "good enough" in out
    code, out, err = _cli(capsys, "registry", "approve", "churn", "--version", "7")
    assert code == 2 and "churn version 7" in err and "not found" in err
    code, out, _ = _cli(capsys, "registry", "alias", "churn", "prod", "--version", "1")
    assert code == 0 and "churn@prod -> version 1" in out
    code, out, _ = _cli(capsys, "registry", "list", "churn")
    assert "Approved" in out and "prod" in out and "churn-xgb" in out
    code, out, _ = _cli(capsys, "registry", "describe", "churn", "--alias", "prod")
    record = json.loads(out)
    assert record["ModelApprovalStatus"] == "Approved" and record["ApprovalDescription"] == "good enough"
    assert record["Lineage"]["DatasetName"] == "churn" and record["Lineage"]["ModelDataSha256"]
    metrics = record["ModelMetrics"]
    assert {"accuracy", "precision", "recall", "f1", "auc"} <= set(metrics["Metrics"])
    assert len(metrics["ConfusionMatrix"]) == 2 and sum(map(sum, metrics["ConfusionMatrix"])) == 300
    statistics = metrics["ModelQuality"]["Statistics"]["S3Uri"]
    plot = metrics["Plots"][0]["S3Uri"]
    assert Path(statistics.removeprefix("file://")).exists() and plot.endswith("roc.png")
    assert Path(plot.removeprefix("file://")).read_bytes()[:4] == b"\x89PNG"
