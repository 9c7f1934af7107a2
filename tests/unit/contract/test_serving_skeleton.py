"""The /ping + /invocations skeleton, served by a real process with a tiny handler."""

from __future__ import annotations

import os
import signal
import socket
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


SOCKET_TIMEOUT = 1.0


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
        "MLOPS_SOCKET_TIMEOUT_SECONDS": str(SOCKET_TIMEOUT),
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


def _raw(url: str, data: bytes, timeout: float = 8.0) -> tuple[bytes, float]:
    """Send ``data`` as is; everything the server answers until it closes, and how long that took."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(data)
        sock.settimeout(timeout)
        started = time.monotonic()
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer, time.monotonic() - started


@pytest.mark.parametrize("head,message", [
    (b"Content-Length: -1", b"Content-Length '-1' is not a non-negative whole number"),
    (b"Content-Length: 3x", b"Content-Length '3x' is not a non-negative whole number"),
    (b"Content-Length: \xd9\xa3", b"is not a non-negative whole number"),
    (b"X-No-Length: 1", b"a POST needs a Content-Length header"),
    (b"Content-Length: 3\r\nContent-Length: 4", b"Content-Length is given more than once"),
    (b"Transfer-Encoding: chunked", b"Transfer-Encoding 'chunked' is not supported"),
])
def test_a_post_with_a_bad_length_gets_400_and_the_server_stays_up(server, head: bytes, message: bytes) -> None:  # type: ignore[no-untyped-def]
    url, proc = server
    answer, took = _raw(url, b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n" + head +
                        b"\r\n\r\n1,2,3")
    assert answer.startswith(b"HTTP/1.1 400 ") and message in answer, answer
    assert b"Connection: close" in answer and took < SOCKET_TIMEOUT  # closed at once: the framing is unknown
    assert _post(url, b"3") == (200, b"6.0") and proc.poll() is None


def test_a_request_head_over_the_cap_gets_431(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 2000) for i in range(40))  # 80 KB, each line short
    answer, _ = _raw(url, b"GET /ping HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ") and b"over the 65536-byte limit" in answer, answer[:200]
    small = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 2000) for i in range(20))  # 40 KB passes
    assert _raw(url, b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + small + b"\r\n")[0].startswith(
        b"HTTP/1.1 200 ")


def test_a_slow_or_silent_client_is_disconnected(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    for data in (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n1,", b"GET /ping HTTP/1.1\r\n",
                 b""):
        answer, took = _raw(url, data)
        assert took < SOCKET_TIMEOUT + 1.5, (data, took)
        assert b"200" not in answer
    assert _post(url, b"3") == (200, b"6.0")
