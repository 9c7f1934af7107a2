"""The serving half of the contract: GET /ping and POST /invocations on port 8080.

An algorithm supplies the four functions of SageMaker's inference toolkits (``model_fn``,
``input_fn``, ``predict_fn``, ``output_fn``) and calls :func:`serve`. The server is the standard
library's HTTP/1.1 server with keep-alive, pre-forked into ``SAGEMAKER_MODEL_SERVER_WORKERS``
processes sharing one listening socket; each worker loads the model after the fork.

Environment (SageMaker's names where SageMaker has them):
- ``SAGEMAKER_BIND_TO_PORT`` (default 8080)
- ``MLOPS_BIND_HOST`` (default 127.0.0.1; a container runtime sets 0.0.0.0 and publishes on loopback)
- ``SAGEMAKER_MODEL_SERVER_WORKERS`` (default 1)
- ``MLOPS_MAX_PAYLOAD_BYTES`` (default 6 MB, SageMaker's InvokeEndpoint limit)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from mlops.contract.errors import AlgorithmError, UnsupportedContentTypeError
from mlops.contract.layout import Layout

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


class InferenceHandler(Protocol):
    def model_fn(self, model_dir: Path) -> Any: ...

    def input_fn(self, body: bytes, content_type: str) -> Any: ...

    def predict_fn(self, data: Any, model: Any) -> Any: ...

    def output_fn(self, prediction: Any, accept: str) -> tuple[bytes, str]: ...


class BadRequestError(AlgorithmError):
    """A payload that cannot be parsed (HTTP 400)."""


def _make_request_handler(handler: InferenceHandler, model: Any, max_bytes: int) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        default_request_version = "HTTP/1.0"  # a request line it cannot parse still gets a status line
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
        server_version = "mlops-model-server"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # per-request logs off: hot path
            return

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
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
            declared = (self.headers.get("Content-Length") or "0").strip()
            if not (declared.isascii() and declared.isdigit()):  # int() takes "-1" (read to EOF: a hang), "٣"
                self.close_connection = True
                self._reply(400, f"Content-Length {declared[:40]!r} is not a number of bytes".encode())
                return
            length = int(declared) if len(declared) < 19 else max_bytes + 1  # int() refuses > 4300 digits
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


def _serve_on(sock: socket.socket, handler: InferenceHandler, layout: Layout, max_bytes: int) -> None:
    model = handler.model_fn(layout.model_dir)
    server = _Server(sock.getsockname()[:2], _make_request_handler(handler, model, max_bytes), bind_and_activate=False)
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
    max_bytes = int(os.environ.get("MLOPS_MAX_PAYLOAD_BYTES", str(MAX_PAYLOAD_BYTES)))
    sock = _listening_socket(host, port)
    print(f"model server listening on {host}:{port} with {workers} worker(s)", flush=True)
    if workers == 1:
        try:
            _serve_on(sock, handler, lay, max_bytes)
        except AlgorithmError as e:
            print(f"model server failed to start: {e}", file=sys.stderr, flush=True)
            return 2
        return 0
    return _prefork(sock, handler, lay, max_bytes, workers)


def _prefork(sock: socket.socket, handler: InferenceHandler, layout: Layout, max_bytes: int, workers: int) -> int:
    children: set[int] = set()
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # worker: drop the parent's handlers first, or a SIGTERM while loading is swallowed
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                _serve_on(sock, handler, layout, max_bytes)
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
