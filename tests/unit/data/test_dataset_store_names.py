"""Dataset folders come from checked names and ids only; nothing leads outside the store's root."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.data.dataset_store import DatasetStore


@pytest.mark.parametrize("name", ["../x", "../../x", "churn\n", "/abs"])
def test_dataset_names_that_are_paths_are_refused(tmp_path: Path, name: str) -> None:
    store = DatasetStore(tmp_path / "datasets")
    for call in (store.dataset_dir, store.suite_path, store.versions):
        with pytest.raises(ValidationError) as e:
            call(name)
        assert e.value.field == "dataset name"
    with pytest.raises(ValidationError):
        store.version_dir("churn", "../../../x")


def test_a_dataset_folder_linked_elsewhere_is_refused(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "datasets")
    store.root.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (store.root / "churn").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ValidationError, match="leads outside"):
        store.suite_path("churn")


def test_a_path_under_the_root_that_is_no_record_is_not_one_of_its_files(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "datasets")
    assert store.find_by_path(str(store.root / ".fetch-1" / "versions" / "abc" / "x.csv")) is None
