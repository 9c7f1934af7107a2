"""The serving half of the contract: GET /ping and POST /invocations on port 8080.

An algorithm supplies the four functions of SageMaker's inference toolkits (``model_fn``,
``input_fn``, ``predict_fn``, ``output_fn``) and calls :func:`serve`. The server is the standard
library's HTTP/1.1 server with keep-alive, pre-forked into ``SAGEMAKER_MODEL_SERVER_WORKERS``
processes sharing one listening socket; each worker loads the model after the fork.

Environment (SageMaker's names where SageMaker has them):
- ``SAGEMAKER_BIND_TO_PORT`` (default 8080)
- ``MLOPS_BIND_HOST`` (default 127.0.0.1; a container runtime sets 0.0.0.0 and publishes on loopback)
- ``SAGEMAKER_MODEL_SERVER_WORKERS`` (default 1)
- ``MLOPS_MAX_PAYLOAD_BYTES`` (default 6 MB, SageMaker's InvokeEndpoint limit): a larger body gets 413
- ``MLOPS_MAX_HEADER_BYTES`` (default 64 KiB): a larger request head (request line and headers) gets 431
- ``MLOPS_SOCKET_TIMEOUT_SECONDS`` (default 30): a client that sends or reads nothing for that long is
  disconnected (also an idle keep-alive connection)

A POST must say how long its body is: a missing, negative, non-numeric or contradictory
Content-Length (or a Transfer-Encoding, which this server does not read) gets 400 and the connection is
closed, since where the next request would start is unknown.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, cast

from mlops.contract.errors import AlgorithmError, UnsupportedContentTypeError
from mlops.contract.layout import Layout

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
SOCKET_TIMEOUT_SECONDS = 30.0


class InferenceHandler(Protocol):
    def model_fn(self, model_dir: Path) -> Any: ...

    def input_fn(self, body: bytes, content_type: str) -> Any: ...

    def predict_fn(self, data: Any, model: Any) -> Any: ...

    def output_fn(self, prediction: Any, accept: str) -> tuple[bytes, str]: ...


class BadRequestError(AlgorithmError):
    """A payload that cannot be parsed (HTTP 400)."""


@dataclass(frozen=True)
class ServerLimits:
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    max_header_bytes: int = MAX_HEADER_BYTES
    socket_timeout: float = SOCKET_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls) -> ServerLimits:
        return cls(
            int(os.environ.get("MLOPS_MAX_PAYLOAD_BYTES", str(MAX_PAYLOAD_BYTES))),
            int(os.environ.get("MLOPS_MAX_HEADER_BYTES", str(MAX_HEADER_BYTES))),
            float(os.environ.get("MLOPS_SOCKET_TIMEOUT_SECONDS", str(SOCKET_TIMEOUT_SECONDS))),
        )


class _HeadTooLarge(Exception):
    pass


class _HeadReader:
    """The request's ``rfile`` while its headers are parsed: refuses to read past ``left`` bytes."""

    def __init__(self, raw: io.BufferedIOBase, left: int) -> None:
        self.raw = raw
        self.left = left

    def readline(self, size: int = -1) -> bytes:
        want = self.left + 1 if size < 0 else min(size, self.left + 1)
        line = self.raw.readline(want)
        self.left -= len(line)
        if self.left < 0:
            raise _HeadTooLarge
        return line


def _content_length(values: list[str] | None, transfer_encoding: str | None) -> int | str:
    """The body's length, or why the request does not say it properly."""
    if transfer_encoding:
        return f"Transfer-Encoding {transfer_encoding!r} is not supported; send the body with a Content-Length"
    if not values:
        return "a POST needs a Content-Length header"
    if len({v.strip() for v in values}) > 1:
        return f"Content-Length is given more than once, with different values: {', '.join(values)}"
    value = values[0].strip()
    if not (value.isascii() and value.isdigit()):
        return f"Content-Length {value!r} is not a non-negative whole number of bytes"
    return int(value) if len(value) < 19 else 10**18  # int() refuses more than 4300 digits


def _make_request_handler(handler: InferenceHandler, model: Any, limits: ServerLimits) -> type[BaseHTTPRequestHandler]:
    max_bytes = limits.max_payload_bytes

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        default_request_version = "HTTP/1.0"  # a request line it cannot parse still gets a status line
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
        server_version = "mlops-model-server"
        sys_version = ""
        timeout = limits.socket_timeout  # per read or write; a timed-out connection is dropped
        raw_requestline: bytes  # set by handle_one_request before parse_request

        def log_message(self, format: str, *args: Any) -> None:  # per-request logs off: hot path
            return

        def parse_request(self) -> bool:
            raw = self.rfile
            left = limits.max_header_bytes - len(self.raw_requestline)
            self.rfile = cast(io.BufferedIOBase, _HeadReader(raw, left))
            try:
                return super().parse_request()
            except _HeadTooLarge:
                self.close_connection = True
                self._reply(431, f"the request head is over the {limits.max_header_bytes}-byte limit".encode())
                return False
            finally:
                self.rfile = raw

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:  # the client learns it must not reuse the connection
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/ping":
                self._reply(200, b"")
            elif self.path == "/execution-parameters":
                self._reply(
                    200,
                    b'{"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}',
                    "application/json",
                )
            else:
                self._reply(404, f"no route {self.path}; use GET /ping or POST /invocations".encode())

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self.close_connection = True
                self._reply(404, f"no route {self.path}; use POST /invocations".encode())
                return
            length = _content_length(self.headers.get_all("Content-Length"), self.headers.get("Transfer-Encoding"))
            if isinstance(length, str):
                self.close_connection = True
                self._reply(400, length.encode())
                return
            if length > max_bytes:
                self.close_connection = True
                self._reply(413, f"payload of {length} bytes is over the {max_bytes}-byte limit".encode())
                return
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type") or "text/csv"
            accept = self.headers.get("Accept") or ""
            if accept in ("", "*/*"):
                accept = getattr(handler, "default_accept", None) or content_type.split(";")[0]
            try:
                data = handler.input_fn(body, content_type)
                prediction = handler.predict_fn(data, model)
                payload, out_type = handler.output_fn(prediction, accept)
            except UnsupportedContentTypeError as e:
                self._reply(415, str(e).encode())
                return
            except (AlgorithmError, ValueError) as e:
                self._reply(400, str(e).encode())
                return
            except Exception as e:
                self._reply(500, f"{type(e).__name__}: {e}".encode())
                return
            self._reply(200, payload, out_type)

    return RequestHandler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(256)
    return sock


def _serve_on(sock: socket.socket, handler: InferenceHandler, layout: Layout, limits: ServerLimits) -> None:
    model = handler.model_fn(layout.model_dir)
    server = _Server(sock.getsockname()[:2], _make_request_handler(handler, model, limits), bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def serve(handler: InferenceHandler, layout: Layout | None = None) -> int:
    """Serve until SIGTERM/SIGINT. Returns the process exit code."""
    lay = layout or Layout.from_env()
    host = os.environ.get("MLOPS_BIND_HOST", "127.0.0.1")
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    workers = max(1, int(os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", "1")))
    limits = ServerLimits.from_env()
    sock = _listening_socket(host, port)
    print(f"model server listening on {host}:{port} with {workers} worker(s)", flush=True)
    if workers == 1:
        try:
            _serve_on(sock, handler, lay, limits)
        except AlgorithmError as e:
            print(f"model server failed to start: {e}", file=sys.stderr, flush=True)
            return 2
        return 0
    return _prefork(sock, handler, lay, limits, workers)


def _prefork(sock: socket.socket, handler: InferenceHandler, layout: Layout, limits: ServerLimits, workers: int) -> int:
    children: set[int] = set()
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # worker: drop the parent's handlers first, or a SIGTERM while loading is swallowed
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                _serve_on(sock, handler, layout, limits)
            except AlgorithmError as e:
                print(f"model server worker failed to start: {e}", file=sys.stderr, flush=True)
                code = 2
            except BaseException:
                code = 1
            finally:
                os._exit(code)  # a forked child must not run the parent's atexit handlers
        children.add(pid)

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        spawn()
    restarts: list[float] = []
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        if stopping:
            continue
        code = os.waitstatus_to_exitcode(status)
        if code == 2:  # the model could not be loaded: restarting will not help
            stop()
            return 2
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 60] + [now]
        if len(restarts) > 5 * workers:
            print("model server workers keep dying; giving up", file=sys.stderr, flush=True)
            stop()
            return 1
        print(f"model server worker {pid} exited with {code}; restarting", file=sys.stderr, flush=True)
        spawn()
    return 0
