"""``mlops router``: the one control process. It hosts the endpoint router and the control API on one
loopback port (uvicorn, raw ASGI, httptools with the limits of http_limits.py, uvloop when installed),
owns the model servers (its children, or containers) and the capture writer.

Start-up: take the home's control lock (one control process per home), read (or create) the home's
control credentials, bind the port, start the orphan watchdog, stop leftovers of a previous process,
bring every endpoint back (see controller.py), serve. Stop (SIGTERM / SIGINT): stop accepting, finish
requests in flight, drain shadow copies, stop every model server, write and flush every captured record,
release the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mlops.core.errors import ConflictError, MlopsError
from mlops.core.files import PRIVATE_UMASK
from mlops.core.home import Home
from mlops.hosting.app import AsgiApp, HostingApp
from mlops.hosting.controller import Controller
from mlops.hosting.credentials import ControlCredentials
from mlops.hosting.fleet import InstanceManager
from mlops.hosting.guard import HostGuard
from mlops.hosting.http_limits import HttpLimits, LimitedHttpToolsProtocol
from mlops.hosting.reaper import reap, reap_tagged, start_watchdog
from mlops.hosting.store import HostingStore, write_atomic
from mlops.runtime.interface import ModelServerRuntime
from mlops.serving.api import MAX_IN_FLIGHT, RouterHttp
from mlops.serving.capture_writer import DEFAULT_MAX_QUEUE_BYTES, CaptureWriter
from mlops.serving.metrics import PrometheusText, labels
from mlops.serving.router import DEFAULT_MODEL_TIMEOUT, MAX_PAYLOAD_BYTES, EndpointRouter

SageMakerApiFactory = Callable[[Controller, HostingStore], AsgiApp]
"""Builds the SageMaker-API app (mlops/api/) on the control process's controller and hosting store."""


@dataclass(frozen=True)
class ControlOptions:
    host: str = "127.0.0.1"
    port: int = 8085
    model_timeout: float = DEFAULT_MODEL_TIMEOUT
    health_interval: float = 1.0
    ping_timeout: float = 2.0
    failure_threshold: int = 2
    poll_seconds: float = 0.2
    capture_flush_seconds: float = 0.2
    capture_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES
    s3_endpoint_url: str | None = None
    graceful_seconds: float = 30.0
    allowed_hosts: tuple[str, ...] = ()  # Host names besides loopback ones (see guard.py)
    limits: HttpLimits = field(default_factory=HttpLimits)
    max_concurrency: int = MAX_IN_FLIGHT
    max_response_bytes: int = MAX_PAYLOAD_BYTES


def _lock(store: HostingStore) -> IO[str]:
    store.root.mkdir(parents=True, exist_ok=True)
    handle = open(store.root / "control.lock", "a+")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        owner = ""
        with contextlib.suppress(Exception):
            owner = f" (pid {json.loads(store.control_path.read_text())['pid']})"
        raise ConflictError(
            f"another control process{owner} already runs on {store.root.parent}; stop it first"
        ) from None
    return handle


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise MlopsError(
            f"the router cannot listen on {host}:{port}: {e.strerror or e}; is another `mlops router` "
            "running, or set MLOPS_ROUTER_PORT"
        ) from None
    sock.listen(1024)
    sock.set_inheritable(False)
    return sock


def run_control_process(
    home: Path,
    runtime: ModelServerRuntime,
    options: ControlOptions,
    log: Callable[[str], None] = print,
    sagemaker_api: SageMakerApiFactory | None = None,
) -> int:
    """Serve until stopped; ``sagemaker_api`` (mlops/api/) builds, from this process's Controller and
    HostingStore, the app that answers SageMaker's own API on the same port (its async operations run in
    this process's event loop, on the controller)."""
    import uvicorn

    os.umask(PRIVATE_UMASK)  # captured data, model servers' folders and logs are the owner's alone
    store = HostingStore(home)
    lock = _lock(store)
    credentials = ControlCredentials.for_home(home)
    sock = _bind(options.host, options.port)
    guard = HostGuard.for_bind(options.host, sock.getsockname()[1], options.allowed_hosts)
    capture = CaptureWriter(
        Home(home).capture_spool,
        flush_seconds=options.capture_flush_seconds,
        s3_endpoint_url=options.s3_endpoint_url,
        max_queue_bytes=options.capture_queue_bytes,
    )
    router = EndpointRouter(capture, options.model_timeout, max_response_bytes=options.max_response_bytes)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"  # in every model server's environment: see reaper.py
    instances = InstanceManager(
        runtime,
        store,
        options.health_interval,
        options.ping_timeout,
        options.failure_threshold,
        drain_timeout=options.model_timeout + 5,
        log=log,
        tag=tag,
    )
    controller = Controller(store, router, instances, options.poll_seconds, log)
    url = f"http://{options.host}:{sock.getsockname()[1]}"

    def extra(text: PrometheusText) -> None:
        text.add(
            "mlops_instance_restarts_total",
            "counter",
            "model-server instances replaced after a failure",
            "",
            instances.restarts,
        )
        for name, endpoint in sorted(controller.endpoints.items()):
            text.add(
                "mlops_endpoint_in_service",
                "gauge",
                "1 when the endpoint is InService",
                labels(endpoint=name, status=endpoint.EndpointStatus.value),
                1 if endpoint.EndpointStatus.value == "InService" else 0,
            )

    async def started() -> None:
        write_atomic(store.control_path, json.dumps({"pid": os.getpid(), "url": url}))
        log(f"endpoint router and control API on {url} (pid {os.getpid()}); stop with Ctrl-C or SIGTERM")

    watchdog, pipe = None, None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        watchdog, pipe = start_watchdog(store.instances_path, tag)
        capture.start()
        loop = "uvloop" if _has("uvloop") else "asyncio"
        config = uvicorn.Config(
            HostingApp(
                controller,
                RouterHttp(router, extra, options.max_concurrency),
                credentials,
                guard,
                started,
                sagemaker_api=sagemaker_api(controller, store) if sagemaker_api is not None else None,
            ),
            loop=loop,
            http=LimitedHttpToolsProtocol.with_limits(options.limits),
            timeout_keep_alive=options.limits.keep_alive_timeout,
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=int(options.graceful_seconds),
            server_header=False,
            proxy_headers=False,  # loopback only; parsing X-Forwarded-For costs ~40 µs a request
        )
        server = uvicorn.Server(config)
        # uvicorn re-raises the signal that stopped it once it is done; make that a no-op so the
        # clean-up below runs (instances are already stopped by the lifespan shutdown).
        for sig in previous:
            signal.signal(sig, lambda *_: None)
        server.run(sockets=[sock])
        return 0 if server.started else 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        capture.close()
        instances.close()
        # only if the lifespan shutdown could not stop them, or a start was still under way
        left = reap(store.instances()) + reap_tagged(tag)
        if left:
            log(f"stopped {left} model server process(es) left running")
        store.save_instances([], tag)
        if pipe is not None:
            os.close(pipe)  # the watchdog sees EOF, finds no instance left and exits
        if watchdog is not None:
            with contextlib.suppress(Exception):
                watchdog.wait(timeout=10)
        with contextlib.suppress(FileNotFoundError):
            store.control_path.unlink()
        sock.close()
        lock.close()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
