"""`mlops sample-data` and `mlops data ingest` encode the churn table with one encoder (issue 13).

Both gave 22 features, so a job trained on the sample files and evaluated or monitored on an ingested
version raised no error while column 9 meant 'payment_method=electronic-check' in one and
'payment_method=bank-transfer' in the other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlops.core.datasets import DataFormat
from mlops.core.errors import ValidationError
from mlops.data.churn_sample import write_demo_files
from mlops.data.dataset_store import DatasetStore
from mlops.data.encoding_sidecar import read_sidecar, sidecar_of, write_sidecar
from mlops.services.datasets import ingest

ROWS = 1500


def _rows(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_sample_files_hold_the_columns_an_ingested_version_holds(tmp_path: Path) -> None:
    files = write_demo_files(tmp_path / "data", rows=ROWS, seed=7)
    version = ingest(DatasetStore(tmp_path / "datasets"), "churn", str(files.table)).version
    ingested = _rows(Path(version.file(DataFormat.csv).Uri))
    sample = np.vstack([_rows(p) for p in (files.train, files.validation, files.test)])
    assert sample.shape == ingested.shape == (ROWS, 1 + len(version.Encoding.Features))
    names = ("label", *version.Encoding.feature_names)
    for j in range(ingested.shape[1]):  # the three parts hold every row once: the column means agree
        assert sample[:, j].mean() == pytest.approx(ingested[:, j].mean(), rel=1e-6), (
            f"column {j} ({names[j]}): mean {sample[:, j].mean():.3f} in the sample files, "
            f"{ingested[:, j].mean():.3f} in the ingested version"
        )
    by_row = np.lexsort(sample.T[::-1]), np.lexsort(ingested.T[::-1])
    assert np.array_equal(sample[by_row[0]], ingested[by_row[1]])


def test_sample_files_carry_the_ingest_encoding_beside_them(tmp_path: Path) -> None:
    files = write_demo_files(tmp_path / "data", rows=ROWS, seed=7)
    version = ingest(DatasetStore(tmp_path / "datasets"), "churn", str(files.table)).version
    assert files.encoding == version.Encoding
    for part in (files.train, files.validation, files.test):
        assert read_sidecar(part) == version.Encoding
    assert files.feature_names[8] == "payment_method=bank-transfer"  # categories sorted, as ingest sorts them


def test_one_encoder_only() -> None:
    import mlops.data.churn_sample as sample

    assert not hasattr(sample, "feature_matrix")


def test_no_sidecar_is_an_unknown_encoding(tmp_path: Path) -> None:
    data = tmp_path / "mine.csv"
    data.write_text("1,2,3\n")
    assert read_sidecar(data) is None


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[1, 2]", b'{"LabelColumn": "churn"}', b"\xff\xfe\x00", b'{"LabelColumn": 1, "ProblemType": "x"}'],
)
def test_a_broken_sidecar_is_refused_naming_the_file(tmp_path: Path, content: bytes) -> None:
    data = tmp_path / "train.csv"
    data.write_text("1,2,3\n")
    sidecar_of(data).write_bytes(content)
    with pytest.raises(ValidationError) as e:
        read_sidecar(data)
    assert str(sidecar_of(data)) in str(e.value) and "not a feature encoding" in str(e.value)


def test_a_huge_sidecar_is_refused_unread(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("1,2,3\n")
    with open(sidecar_of(data), "wb") as f:
        f.truncate(5 << 20)
    with pytest.raises(ValidationError, match="larger than"):
        read_sidecar(data)


def test_sidecar_round_trip(tmp_path: Path) -> None:
    files = write_demo_files(tmp_path / "a", rows=200, seed=3)
    other = tmp_path / "b.csv"
    other.write_text("0,1\n")
    write_sidecar(other, files.encoding)
    assert read_sidecar(other) == files.encoding
