"""The /ping + /invocations skeleton, served by a real process with a tiny handler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mlops.runtime.health import free_port, ping

HANDLER = textwrap.dedent(
    """
    import sys
    from mlops.contract.errors import AlgorithmError, UnsupportedContentTypeError
    from mlops.contract.serving import serve

    class Echo:
        def model_fn(self, model_dir):
            return (model_dir / "factor").read_text().strip()
        def input_fn(self, body, content_type):
            if not content_type.startswith("text/csv"):
                raise UnsupportedContentTypeError(f"content type {content_type!r} is not supported")
            if body == b"boom":
                raise RuntimeError("kaput")
            try:
                return [float(v) for v in body.decode().split(",")]
            except ValueError:
                raise AlgorithmError("not numbers") from None
        def predict_fn(self, data, model):
            return [v * float(model) for v in data]
        def output_fn(self, prediction, accept):
            return ",".join(str(v) for v in prediction).encode(), "text/csv"

    sys.exit(serve(Echo()))
    """
)


@pytest.fixture(params=[1, 2], ids=["one-worker", "prefork-two-workers"])
def server(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "factor").write_text("2")
    script = tmp_path / "serve.py"
    script.write_text(HANDLER)
    port = free_port()
    env = {
        **os.environ,
        "MLOPS_CONTRACT_ROOT": str(tmp_path),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_MODEL_SERVER_WORKERS": str(request.param),
        "MLOPS_MAX_PAYLOAD_BYTES": "1000",
    }
    proc = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not ping(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    yield url, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def _post(url: str, body: bytes, content_type: str = "text/csv") -> tuple[int, bytes]:
    req = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_ping_and_invocations(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    assert ping(url)
    assert _post(url, b"1,2.5") == (200, b"2.0,5.0")


def test_errors_are_4xx_or_500_and_the_server_stays_up(server) -> None:  # type: ignore[no-untyped-def]
    url, proc = server
    assert _post(url, b"a,b")[0] == 400
    status, body = _post(url, b"{}", "application/json")
    assert status == 415 and b"application/json" in body
    status, body = _post(url, b"1," * 600)
    assert status == 413 and b"limit" in body
    assert _post(url, b"boom") == (500, b"RuntimeError: kaput")
    assert _post(url, b"3") == (200, b"6.0")
    assert proc.poll() is None


def test_sigterm_stops_cleanly(server) -> None:  # type: ignore[no-untyped-def]
    url, proc = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert not ping(url, timeout=0.5)
