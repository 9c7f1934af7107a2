"""The control process (``mlops router``) keeps what it writes its owner's alone: captured requests and
answers, model servers' folders and logs are 0600 files in 0700 folders, whatever the umask of whoever
started it. And a model server it starts sees none of the launcher's secrets."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops.cli.hosting_flags import parse_capture, parse_variant
from mlops.core.files import sha256_file
from mlops.services.hosting_wiring import create_endpoint_config, create_model
from mlops.settings import Settings
from tests.integration.test_hosting_support import Hosting, echo_model, wait_until, write_echo_algorithm

pytestmark = pytest.mark.integration


@pytest.fixture
def hosting(tmp_path: Path) -> Iterator[Hosting]:
    h = Hosting(tmp_path / "home", write_echo_algorithm(tmp_path / "algorithms"))
    h.env["AWS_SECRET_ACCESS_KEY"] = "launcher-aws-secret-51c0"
    h.start()
    try:  # a failed set-up must not leave the control process running
        settings = Settings(home=h.home, algorithms_dir=tmp_path / "algorithms")
        archive = echo_model(tmp_path / "model", "0.5")
        create_model(settings, "echo", str(archive), algorithm="echo", model_sha256=sha256_file(archive))
        create_endpoint_config(settings, "cfg", [parse_variant("name=a,model=echo")], [],
                               parse_capture(f"sampling=100,dest={tmp_path / 'capture'}", settings))
        yield h
    finally:
        h.close()


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in root.rglob("*")}


def test_captured_data_and_model_servers_files_are_private(hosting: Hosting, tmp_path: Path) -> None:
    hosting.create_endpoint("private", "cfg")
    for _ in range(5):
        assert hosting.invoke("private")[0] == 200
    capture = tmp_path / "capture"
    wait_until(lambda: any(p.is_file() for p in capture.rglob("*")), 15, "captured records")
    (pid,) = hosting.pids("private")
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert not [v for v in environment if b"launcher-aws-secret" in v]
    assert b"MLOPS_BIND_HOST=127.0.0.1" in environment
    for root in (capture, hosting.home / "servers"):
        modes = _modes(root)
        assert modes, f"nothing under {root}"
        wrong = {name: oct(mode) for name, mode in modes.items()
                 if mode != (0o700 if (root / name).is_dir() else 0o600) and not _model_file(root, name)}
        assert wrong == {}, root
    assert hosting.stop() == 0


def _model_file(root: Path, name: str) -> bool:
    """The server's contract tree with the unpacked model, inside its 0700 folder, stays readable to a
    server of any user (see mlops/runtime/packing.py)."""
    return Path(name).parts[1:2] == ("opt",)
