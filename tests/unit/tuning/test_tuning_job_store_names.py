"""Tuning job folders come from checked names only (SageMaker's rule, at most 48 characters here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.tuning.job_store import TuningJobStore


@pytest.mark.parametrize("name", ["../x", "../../tmp/evil", "x\n", "a" * 49])
def test_the_tuning_job_store_refuses_bad_names(tmp_path: Path, name: str) -> None:
    store = TuningJobStore(tmp_path / "tuning")
    for call in (store.folder, store.load, store.request, store.exists):
        with pytest.raises(ValidationError) as e:
            call(name)
        assert e.value.field == "HyperParameterTuningJobName"


def test_a_tuning_job_folder_linked_elsewhere_is_refused(tmp_path: Path) -> None:
    store = TuningJobStore(tmp_path / "tuning")
    store.root.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (store.root / "hpo").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ValidationError, match="leads outside"):
        store.folder("hpo")
