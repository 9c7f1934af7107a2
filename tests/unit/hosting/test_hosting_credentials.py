"""The home's control credentials: created once with mode 0600, refused when others can read them."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from mlops.hosting.credentials import AuthCheck, ControlCredentials, CredentialsError


def test_created_once_private_from_the_start_and_read_back(tmp_path: Path) -> None:
    old = os.umask(0)  # even with a permissive umask nothing is ever readable by others
    try:
        first = ControlCredentials.for_home(tmp_path / "home")
    finally:
        os.umask(old)
    path = tmp_path / "home" / "credentials"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.path == path and ControlCredentials.for_home(tmp_path / "home") == first
    assert first.AccessKeyId.startswith("AKIA") and len(first.AccessKeyId) == 20
    assert len(first.SecretAccessKey) == 40 and first.SecretAccessKey not in repr(first)
    text = path.read_text()
    assert "[default]" in text and f"aws_access_key_id = {first.AccessKeyId}" in text
    assert [p.name for p in path.parent.iterdir()] == ["credentials"]  # no temporary file left


def test_first_users_racing_all_get_the_same_pair(tmp_path: Path) -> None:
    seen: list[ControlCredentials] = []
    barrier = threading.Barrier(8)

    def first_use() -> None:
        barrier.wait()
        seen.append(ControlCredentials.for_home(tmp_path / "home"))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and len({(c.AccessKeyId, c.SecretAccessKey) for c in seen}) == 1


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_file_others_can_read_or_write_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    ControlCredentials.for_home(tmp_path)
    path = tmp_path / "credentials"
    path.chmod(mode)
    with pytest.raises(CredentialsError, match=rf"mode {mode:04o}\); run `chmod 600 {path}`"):
        ControlCredentials.for_home(tmp_path)
    path.chmod(0o600)
    assert ControlCredentials.for_home(tmp_path).path == path


def test_a_file_owned_by_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ControlCredentials.for_home(tmp_path)
    owner = (tmp_path / "credentials").stat().st_uid
    monkeypatch.setattr(os, "getuid", lambda: owner + 1)  # as seen by another user
    with pytest.raises(CredentialsError, match=f"owned by uid {owner}, not by you"):
        ControlCredentials.for_home(tmp_path)


def test_a_malformed_file_names_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"[default]\naws_access_key_id = AKIAEXAMPLE\n")
    os.close(fd)
    with pytest.raises(CredentialsError, match=r"\[default\] has no aws_secret_access_key"):
        ControlCredentials.for_home(tmp_path)


def test_the_authorization_header_is_checked_whole() -> None:
    pair = ControlCredentials("AKIAEXAMPLE", "s3cret/with+chars")
    assert pair.check(pair.authorization().encode()) is AuthCheck.OK
    assert pair.check(None) is AuthCheck.MISSING
    assert pair.check(b"Bearer s3cret/with+chars") is AuthCheck.MISSING
    for wrong in (b"MLOPS-SECRET-KEY AKIAEXAMPLE:s3cret", b"MLOPS-SECRET-KEY AKIAOTHER:s3cret/with+chars",
                  b"MLOPS-SECRET-KEY AKIAEXAMPLE", b"MLOPS-SECRET-KEY :s3cret/with+chars"):
        assert pair.check(wrong) is AuthCheck.WRONG, wrong
