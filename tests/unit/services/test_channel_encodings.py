"""A training job records its channels' feature encoding and refuses channels encoded differently (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.datasets import DataFormat
from mlops.core.errors import ValidationError
from mlops.data.churn_sample import DemoFiles, write_demo_files
from mlops.data.dataset_store import DatasetStore
from mlops.data.encoding_sidecar import write_sidecar
from mlops.services.datasets import SplitRequest, ingest, split
from mlops.services.encodings import channels_encoding, encoding_of
from mlops.services.training import TrainingInput, build_image_request
from tests.unit.data.encoding_helpers import declared_order


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoFiles, DatasetStore, Path]:
    root = tmp_path_factory.mktemp("encodings")
    files = write_demo_files(root / "data", rows=400, seed=7)
    store = DatasetStore(root / "datasets")
    ingest(store, "churn", str(files.table))
    record, _ = split(store, "churn", None, SplitRequest(train=0.8, validation=0.2))
    return files, store, Path(record.part("train").file(DataFormat.csv).Uri)


def _request(channels: dict[str, str]) -> TrainingInput:
    return TrainingInput(algorithm=None, image="my/image:1", channels=channels)


def test_a_split_file_and_a_sample_file_share_one_encoding(sample: tuple[DemoFiles, DatasetStore, Path]) -> None:
    files, _, split_train = sample
    found = encoding_of(str(split_train))
    assert found is not None and found.source.startswith("dataset churn@") and "split" in found.source
    assert found.encoding == files.encoding
    request = build_image_request(_request({"train": str(split_train), "validation": str(files.validation)}), "/a")
    assert request.FeatureEncoding == files.encoding


def test_channels_encoded_differently_are_refused_naming_the_feature(
    sample: tuple[DemoFiles, DatasetStore, Path], tmp_path: Path
) -> None:
    files, _, split_train = sample
    old = tmp_path / "validation.csv"
    old.write_bytes(files.validation.read_bytes())
    write_sidecar(old, declared_order(files.encoding))
    with pytest.raises(ValidationError) as e:
        build_image_request(_request({"train": str(split_train), "validation": str(old)}), "/a")
    assert e.value.field == "channel validation"
    assert e.value.message.startswith(
        f"feature 9 is 'payment_method=electronic-check' in channel validation ({old}) "
        "but 'payment_method=bank-transfer' in channel train (dataset churn@"
    )


def test_files_without_an_encoding_are_accepted_and_record_none(tmp_path: Path) -> None:
    mine = tmp_path / "mine.csv"
    mine.write_text("1,2,3\n0,4,5\n")
    assert encoding_of(str(mine)) is None
    assert encoding_of("s3://bucket/train.csv") is None
    assert channels_encoding({"train": str(mine)}) is None
    assert build_image_request(_request({"train": str(mine)}), "/a").FeatureEncoding is None


def test_an_unknown_channel_beside_a_known_one_takes_the_known_encoding(
    sample: tuple[DemoFiles, DatasetStore, Path], tmp_path: Path
) -> None:
    files, _, _ = sample
    mine = tmp_path / "mine.csv"
    mine.write_text("1,2,3\n")
    assert channels_encoding({"train": str(mine), "validation": str(files.validation)}) == files.encoding


def test_a_folder_named_versions_outside_a_store_is_not_a_store(tmp_path: Path) -> None:
    folder = tmp_path / "versions" / "abc"
    folder.mkdir(parents=True)
    data = folder / "train.csv"
    data.write_text("1,2\n")
    assert encoding_of(str(data)) is None
