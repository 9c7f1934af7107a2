"""The control process's defences, over real sockets against `mlops router` as users run it: the control
API's credentials, content type, Host and Origin checks; head and body timeouts; the head size cap; the
connection and concurrency caps; the cap on a model server's answer.

The router runs with small limits (settings below) so that each case takes a second or two.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops.cli.hosting_flags import parse_variant
from mlops.core.errors import MlopsError
from mlops.core.files import sha256_file
from mlops.hosting.credentials import ControlCredentials
from mlops.services.control_client import ControlAccessDenied, HostingClient
from mlops.services.hosting_wiring import create_endpoint_config, create_model
from mlops.settings import Settings
from tests.integration.test_hosting_support import ROW, Hosting, echo_model, write_echo_algorithm

pytestmark = pytest.mark.integration

HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
MAX_CONNECTIONS = 16
MAX_CONCURRENCY = 2
MAX_RESPONSE = 4096
SLOW_MS = 3000


@pytest.fixture(scope="module")
def hosting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosting]:
    root = tmp_path_factory.mktemp("hosting-limits")
    h = Hosting(root / "home", write_echo_algorithm(root / "algorithms"))
    h.env.update({
        "MLOPS_ROUTER_HEADER_TIMEOUT_SECONDS": str(HEAD_TIMEOUT),
        "MLOPS_ROUTER_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "MLOPS_ROUTER_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "MLOPS_ROUTER_MAX_CONCURRENCY": str(MAX_CONCURRENCY),
        "MLOPS_ROUTER_MAX_RESPONSE_BYTES": str(MAX_RESPONSE),
    })
    h.start()
    settings = Settings(home=h.home, algorithms_dir=root / "algorithms")
    def model(name: str, answer: str, **extra: object) -> None:
        archive = echo_model(root / name, answer)
        create_model(settings, name, str(archive), algorithm="echo", model_sha256=sha256_file(archive), **extra)

    model("echo", "0.25")
    model("slow", "0.5", environment={"ECHO_DELAY_MS": str(SLOW_MS)})
    model("big", "9" * (MAX_RESPONSE + 100))
    for name in ("echo", "slow", "big"):
        create_endpoint_config(settings, f"cfg-{name}", [parse_variant(f"name=a,model={name}")])
    h.create_endpoint("fast", "cfg-echo")
    yield h
    h.close()


def request(hosting: Hosting, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", hosting.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data, time.monotonic() - started


# --- the credentials file -----------------------------------------------------------------------------


def test_the_credentials_file_is_private_and_a_readable_one_is_refused(hosting: Hosting, tmp_path: Path) -> None:
    info = (hosting.home / "credentials").stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.getuid()
    other = tmp_path / "home"
    ControlCredentials.for_home(other)
    (other / "credentials").chmod(0o644)
    env = {**hosting.env, "MLOPS_HOME": str(other), "MLOPS_ROUTER_PORT": "0"}
    for args in (("router",), ("endpoints", "list")):
        result = subprocess.run([sys.executable, "-m", "mlops.cli", *args], capture_output=True, text=True, env=env,
                                timeout=60)
        assert result.returncode == 2, result
        assert f"{other / 'credentials'} can be read or written by group or others (mode 0644)" in result.stderr
        assert f"chmod 600 {other / 'credentials'}" in result.stderr


# --- the control API ----------------------------------------------------------------------------------


def test_control_calls_without_this_homes_credentials_or_from_a_browser_are_refused_and_do_nothing(
    hosting: Hosting, tmp_path: Path
) -> None:
    good = ControlCredentials.for_home(hosting.home)
    wrong = ControlCredentials(good.AccessKeyId, good.SecretAccessKey[:-1] + ("A" if good.SecretAccessKey[-1] != "A"
                                                                             else "B"))
    create = json.dumps({"EndpointName": "intruder", "EndpointConfigName": "cfg-echo"}).encode()
    json_type = {"Content-Type": "application/json"}
    auth = {"Authorization": good.authorization()}
    cases = [
        ({**json_type}, 401, "AccessDenied", "needs this home's credentials"),
        ({**json_type, "Authorization": "Bearer " + good.SecretAccessKey}, 401, "AccessDenied", "MLOPS-SECRET-KEY"),
        ({**json_type, "Authorization": wrong.authorization()}, 403, "AccessDenied", "does not hold"),
        ({**auth, "Content-Type": "text/plain"}, 415, "UnsupportedMediaType", "application/json"),
        ({**auth}, 415, "UnsupportedMediaType", "got none"),
        ({**auth, **json_type, "Host": f"rebound.example:{hosting.port}"}, 421, "AccessDenied",
         "MLOPS_ROUTER_ALLOWED_HOSTS"),
        ({**auth, **json_type, "Origin": "http://attacker.example"}, 403, "AccessDenied", "web origin"),
        ({**auth, **json_type, "Origin": "null"}, 403, "AccessDenied", "web origin"),
        ({**auth, **json_type, "Origin": "http://localhost:1"}, 403, "AccessDenied", "web origin"),
    ]
    for headers, status, kind, message in cases:
        got, _, body = request(hosting, "POST", "/_control/CreateEndpoint", create, headers)
        answer = json.loads(body)
        assert (got, answer["__type"]) == (status, kind), (headers, got, body)
        assert message in answer["message"], (headers, answer)
    assert request(hosting, "GET", "/_control/health")[0] == 401
    assert "intruder" not in [e.EndpointName for e in hosting.client().list()]  # nothing was created
    # the same checks let this home's own calls through, from loopback names and its own origin
    for extra in ({"Host": f"localhost:{hosting.port}", "Origin": f"http://localhost:{hosting.port}"},
                  {"Host": f"[::1]:{hosting.port}", "Content-Type": "application/x-amz-json-1.1"}):
        got, _, body = request(hosting, "POST", "/_control/DescribeEndpoint", b'{"EndpointName": "fast"}',
                               {**auth, **json_type, **extra})
        assert got == 200 and json.loads(body)["EndpointStatus"] == "InService", body
    # a client holding another home's credentials is told so
    stranger = HostingClient(hosting.url, ControlCredentials.for_home(tmp_path / "other-home"), timeout=10)
    with pytest.raises(ControlAccessDenied, match="refused the call .*does not hold this control process's"):
        stranger.list()


def test_the_stacks_health_poll_sends_this_homes_credentials(hosting: Hosting, tmp_path: Path) -> None:
    from mlops.airflow.stack import router_of_this_home, router_pid

    assert hosting.proc is not None
    settings = Settings(home=hosting.home, router_port=hosting.port)
    assert router_pid(settings) == hosting.proc.pid and router_of_this_home(settings)
    with pytest.raises(MlopsError, match=r"another endpoint router \(not this home's\) answers on 127.0.0.1:"):
        router_pid(Settings(home=tmp_path / "other-home", router_port=hosting.port))


def test_invocations_from_a_foreign_host_or_origin_are_refused(hosting: Hosting) -> None:
    path = "/endpoints/fast/invocations"
    csv = {"Content-Type": "text/csv"}
    status, headers, body = request(hosting, "POST", path, ROW.encode(), {**csv, "Host": "rebound.example"})
    assert (status, headers["x-amzn-errortype"]) == (421, "AccessDeniedException"), body
    status, headers, body = request(hosting, "POST", path, ROW.encode(), {**csv, "Origin": "https://shop.example"})
    assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException"), body
    status, _, body = request(hosting, "POST", "/invocations", ROW.encode(), {**csv, "Host": "rebound.example"})
    assert status == 421 and b"is not a name of this server" in body
    assert request(hosting, "GET", "/metrics", headers={"Host": "rebound.example"})[0] == 421
    for ok in ({"Host": f"localhost:{hosting.port}", "Origin": f"http://127.0.0.1:{hosting.port}"},
               {"Host": f"127.0.0.1:{hosting.port}"}):
        status, _, body = request(hosting, "POST", path, ROW.encode(), {**csv, **ok})
        assert (status, body) == (200, b"0.25\n")


# --- timeouts -------------------------------------------------------------------------------------------


def test_a_half_sent_head_is_dropped_within_the_header_timeout(hosting: Hosting) -> None:
    limit = HEAD_TIMEOUT + 1.5
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:  # slowloris: half a head, then nothing
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        data, took = read_until_closed(sock, 10)
    assert took < limit and data.startswith(b"HTTP/1.1 408 "), (took, data)
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:  # one byte at a time, never finishing
        sock.sendall(b"GET /ping HTTP/1.1\r\n")
        started = time.monotonic()
        try:
            while time.monotonic() - started < 10:
                sock.sendall(b"X")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert time.monotonic() - started < limit
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:  # connects and says nothing
        data, took = read_until_closed(sock, 10)
    assert took < limit, took
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:  # keep-alive: the second head is slow
        sock.sendall(f"GET /ping HTTP/1.1\r\nHost: localhost:{hosting.port}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: local")
        data, took = read_until_closed(sock, 10)
    assert took < limit and data.startswith(b"HTTP/1.1 408 "), (took, data)


def invocations(hosting: Hosting, endpoint: str) -> float:
    text = request(hosting, "GET", "/metrics")[2].decode()
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith(f'mlops_invocations_total{{endpoint="{endpoint}"'))


def test_a_dribbled_or_abandoned_body_is_cut_off_and_never_reaches_a_model(hosting: Hosting) -> None:
    head = (b"POST /endpoints/fast/invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
            b"Content-Length: 100\r\n\r\n")
    before = invocations(hosting, "fast")
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:
        sock.sendall(head + ROW.encode()[:10])
        data, took = read_until_closed(sock, 10)
    assert took < BODY_TIMEOUT + 1.5 and data.startswith(b"HTTP/1.1 408 "), (took, data)
    assert b"body did not arrive within 1.5s" in data
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:  # the client hangs up mid-body
        sock.sendall(head + ROW.encode()[:10])
        time.sleep(0.3)
    time.sleep(0.5)
    assert invocations(hosting, "fast") == before  # half a body was never sent to the model
    assert hosting.invoke("fast")[0] == 200 and invocations(hosting, "fast") == before + 1


# --- sizes and counts -------------------------------------------------------------------------------------


def test_a_request_head_over_the_cap_is_refused(hosting: Hosting) -> None:
    head = f"GET /ping HTTP/1.1\r\nHost: localhost:{hosting.port}\r\nX-Big: ".encode()
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:
        sock.sendall(head + b"a" * 100_000)
        data, _ = read_until_closed(sock, 10)
    assert data.startswith(b"HTTP/1.1 431 ") and b"over the 65536-byte limit" in data, data[:200]

    answer: list[bytes] = []
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:  # 4 MiB in one header
        def send() -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(head + b"a" * (4 * 1024 * 1024) + b"\r\n\r\n")
        sender = threading.Thread(target=send)
        sender.start()
        answer.append(read_until_closed(sock, 10)[0])
        sender.join(10)
    assert answer[0].startswith(b"HTTP/1.1 431 "), answer[0][:200]  # read while the rest is still being sent
    assert request(hosting, "GET", "/ping")[0] == 200  # and the router is still up
    with socket.create_connection(("127.0.0.1", hosting.port)) as sock:  # lengths the parser cannot trust
        sock.sendall(b"POST /endpoints/fast/invocations HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n")
        assert read_until_closed(sock, 10)[0].startswith(b"HTTP/1.1 400 ")


def test_connections_past_the_cap_get_503(hosting: Hosting) -> None:
    held = [socket.create_connection(("127.0.0.1", hosting.port)) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)  # accepted by the server (well within the header timeout)
        with socket.create_connection(("127.0.0.1", hosting.port)) as sock:
            sock.sendall(f"GET /ping HTTP/1.1\r\nHost: localhost:{hosting.port}\r\n\r\n".encode())
            data, _ = read_until_closed(sock, 5)
        assert data.startswith(b"HTTP/1.1 503 "), data
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert request(hosting, "GET", "/ping")[0] == 200  # below the cap again


def test_invocations_past_the_concurrency_cap_get_503_at_once(hosting: Hosting) -> None:
    hosting.create_endpoint("slow", "cfg-slow")
    answers: list[int] = []

    def slow_call() -> None:
        answers.append(hosting.invoke("slow", timeout=30)[0])

    callers = [threading.Thread(target=slow_call) for _ in range(MAX_CONCURRENCY)]
    for caller in callers:
        caller.start()
    time.sleep(1.0)  # both are with the model now (it sleeps 3 s)
    started = time.monotonic()
    status, headers, body = hosting.invoke("fast")
    assert time.monotonic() - started < 1.0
    assert (status, headers["x-amzn-errortype"]) == (503, "ServiceUnavailable"), body
    assert f"handling {MAX_CONCURRENCY} invocations already".encode() in body
    for caller in callers:
        caller.join(30)
    assert answers == [200] * MAX_CONCURRENCY
    assert hosting.invoke("fast")[0] == 200  # room again
    metrics = request(hosting, "GET", "/metrics")[2].decode()
    assert 'mlops_router_rejected_total{endpoint="fast",reason="over_capacity"} 1' in metrics


def test_a_model_answer_over_the_cap_is_a_model_error(hosting: Hosting) -> None:
    hosting.create_endpoint("big", "cfg-big")
    pids = hosting.pids("big")
    for _ in range(3):
        status, headers, body = hosting.invoke("big")
        assert (status, headers["x-amzn-errortype"]) == (424, "ModelError"), body
        error = json.loads(body)
        assert f"over the {MAX_RESPONSE}-byte limit of InvokeEndpoint's response" in error["Message"]
        assert "answered 200 with 4197 bytes" in error["OriginalMessage"]
    assert hosting.pids("big") == pids  # a big answer is not a sick instance
    assert hosting.describe("big")["EndpointStatus"] == "InService"
