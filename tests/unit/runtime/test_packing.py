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


def _archive(path: Path, *members: tuple[tarfile.TarInfo, bytes | None], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


GOOD = (_member("xgboost-model"), b"weights")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ((_member("alias", tarfile.SYMTYPE, "xgboost-model"), None), "member 'alias' is a symbolic link"),
        ((_member("outside", tarfile.SYMTYPE, "/etc/passwd"), None), "member 'outside' is a symbolic link"),
        ((_member("twin", tarfile.LNKTYPE, "xgboost-model"), None), "member 'twin' is a hard link"),
        ((_member("disk", tarfile.BLKTYPE), None), "member 'disk' is a device file"),
        ((_member("tty", tarfile.CHRTYPE), None), "member 'tty' is a device file"),
        ((_member("pipe", tarfile.FIFOTYPE), None), "member 'pipe' is a FIFO"),
        ((_member("/etc/cron.d/model"), b"* * * * * root true\n"), "member '/etc/cron.d/model' has an absolute path"),
        ((_member("sub/../../escaped"), b"bad"), r"member 'sub/\.\./\.\./escaped' has a '\.\.' part"),
        ((_member("sub/../inside"), b"odd"), r"member 'sub/\.\./inside' has a '\.\.' part"),
    ],
)
def test_unpacking_refuses_anything_but_files_and_folders_inside_the_target(
    tmp_path: Path, bad: tuple[tarfile.TarInfo, bytes | None], message: str
) -> None:
    archive = _archive(tmp_path / "model.tar.gz", GOOD, bad)
    target = tmp_path / "out" / "model"
    with pytest.raises(ValidationError, match=f"model.tar.gz: {message}"):
        unpack_archive(archive, target)
    assert list(target.iterdir()) == []  # what was unpacked before the refusal is gone
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "out" / "escaped").exists()


def test_unpacking_stops_at_the_member_limit(tmp_path: Path) -> None:
    members = [(_member(f"shard-{i:03d}"), b"x") for i in range(50)]
    archive = _archive(tmp_path / "many.tar.gz", *members)
    with pytest.raises(ValidationError, match="member 'shard-020' is past the limit of 20 members"):
        unpack_archive(archive, tmp_path / "out", max_members=20)
    assert list((tmp_path / "out").iterdir()) == []
    assert len(list(unpack_archive(archive, tmp_path / "ok", max_members=50).iterdir())) == 50


def test_a_decompression_bomb_stops_at_the_size_limit(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "bomb.tar.gz", GOOD, (_member("zeros"), bytes(64 << 20)))
    assert archive.stat().st_size < 200_000  # 64 MiB of zeros compress to almost nothing
    with pytest.raises(ValidationError, match=r"member 'zeros' takes the unpacked size past the limit of 1048576"):
        unpack_archive(archive, tmp_path / "out", max_bytes=1 << 20)
    assert list((tmp_path / "out").iterdir()) == []


def test_unpacking_keeps_what_was_already_in_the_target_when_it_refuses(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "kept").write_text("mine")
    archive = _archive(tmp_path / "model.tar.gz", GOOD, (_member("l", tarfile.SYMTYPE, "kept"), None))
    with pytest.raises(ValidationError):
        unpack_archive(archive, target)
    assert [p.name for p in target.iterdir()] == ["kept"]


def test_unpacking_accepts_dot_slash_names_and_sets_plain_modes(tmp_path: Path) -> None:
    """`tar -C model -czf model.tar.gz .` names members ./x; setuid and world-writable bits are dropped."""
    folder = _member("./sub", tarfile.DIRTYPE)
    script = _member("./sub/run")
    script.mode = 0o4777
    archive = _archive(tmp_path / "model.tar.gz", (_member("./", tarfile.DIRTYPE), None), (folder, None),
                       (script, b"#!/bin/sh\n"), (_member("./weights"), b"w"))
    out = unpack_archive(archive, tmp_path / "out")
    assert (out / "weights").read_bytes() == b"w"
    assert (out / "sub" / "run").stat().st_mode & 0o7777 == 0o755
    assert (out / "weights").stat().st_mode & 0o7777 == 0o644
    assert (out / "sub").stat().st_mode & 0o7777 == 0o755


def test_packing_never_follows_a_link(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "key").write_text("host secret")
    root = tmp_path / "opt" / "ml"
    (root / "model").mkdir(parents=True)
    (root / "model" / "weights").write_text("w")
    (root / "model" / "key").symlink_to(secrets / "key")
    (root / "model" / "folder").symlink_to(secrets, target_is_directory=True)
    archive = pack_folder(root / "model", tmp_path / "model.tar.gz", inside=root)
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["weights"]
    assert archive.stat().st_mode & 0o777 == 0o600
    (root / "output").symlink_to(secrets, target_is_directory=True)
    (secrets / "data").mkdir()
    with pytest.raises(ValidationError, match="output is a symbolic link, not a folder"):
        pack_folder(root / "output" / "data", tmp_path / "output.tar.gz", inside=root)


def test_an_open_archive_is_checked_the_same_and_named_by_its_label(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a.tar.gz", GOOD, (_member("alias", tarfile.SYMTYPE, "xgboost-model"), None))
    with open(archive, "rb") as f, pytest.raises(ValidationError, match="churn-v1.tar.gz: member 'alias' is a"):
        unpack_archive(f, tmp_path / "out", "churn-v1.tar.gz")
    with open(_archive(tmp_path / "b.tar.gz", GOOD), "rb") as f:
        assert (unpack_archive(f, tmp_path / "ok") / "xgboost-model").read_bytes() == b"weights"
