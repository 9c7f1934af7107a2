from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.runtime.packing import pack_folder, unpack_archive


def test_packing_is_deterministic(tmp_path: Path) -> None:
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "xgboost-model").write_bytes(b"\x00\x01model")
    (src / "sub" / "meta.json").write_text("{}")
    first = pack_folder(src, tmp_path / "a.tar.gz").read_bytes()
    (src / "xgboost-model").touch()  # a new mtime must not change the bytes
    second = pack_folder(src, tmp_path / "b.tar.gz").read_bytes()
    assert first == second
    out = unpack_archive(tmp_path / "b.tar.gz", tmp_path / "out")
    assert (out / "sub" / "meta.json").read_text() == "{}"


def test_unpacking_refuses_paths_that_escape(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ValidationError, match="evil.tar.gz"):
        unpack_archive(archive, tmp_path / "target")
    assert not (tmp_path / "escaped").exists()


def test_unpacking_garbage_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(ValidationError, match="model.tar.gz is not a readable"):
        unpack_archive(bad, tmp_path / "t")
