"""An AlgorithmName picks the folder whose train / serve runs: only an entry of the catalog can be named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import NotFoundError, ValidationError

SPEC = {
    "AlgorithmName": "algo",
    "TrainingSpecification": {},
    "InferenceSpecification": {"SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
}


def _algorithm(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "algorithm.json").write_text(json.dumps(SPEC))
    return folder


@pytest.mark.parametrize("name", ["../evil", "../../tmp/evil", "/abs/evil", "algo\n", "."])
def test_a_name_that_is_a_path_is_refused_before_anything_is_read(tmp_path: Path, name: str) -> None:
    _algorithm(tmp_path / "evil")
    _algorithm(tmp_path / "tmp" / "evil")
    catalog = AlgorithmCatalog(tmp_path / "catalog" / "algorithms")
    _algorithm(catalog.root / "algo")
    for call in (catalog.folder, catalog.get):
        with pytest.raises(ValidationError) as e:
            call(name)
        assert e.value.field == "AlgorithmName"


def test_an_entry_its_owner_linked_in_is_kept(tmp_path: Path) -> None:
    """A catalog may link algorithms kept elsewhere (the conformance suite does); a name cannot make a link."""
    kept = _algorithm(tmp_path / "kept" / "algo")
    catalog = AlgorithmCatalog(tmp_path / "catalog")
    catalog.root.mkdir()
    (catalog.root / "algo").symlink_to(kept, target_is_directory=True)
    assert catalog.get("algo").AlgorithmName == "algo"
    with pytest.raises(NotFoundError):
        catalog.folder("missing")
