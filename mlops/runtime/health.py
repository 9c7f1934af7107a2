"""Readiness as SageMaker checks it: GET /ping answers 200 within 4 minutes of start, each ping
answered within 2 seconds."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from mlops.core.errors import MlopsError

PING_TIMEOUT_SECONDS = 2.0
STARTUP_TIMEOUT_SECONDS = 240.0


class ServerStartError(MlopsError):
    """A model server never became healthy; the message carries the reason and the log's tail."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ping(url: str, timeout: float = PING_TIMEOUT_SECONDS) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/ping", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def wait_until_healthy(
    url: str,
    still_running: Callable[[], bool],
    describe: str,
    log_tail: Callable[[], str],
    timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if ping(url):
            return
        if not still_running():
            raise ServerStartError(f"{describe} exited before answering GET /ping.\n{log_tail()}")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    raise ServerStartError(f"{describe} did not answer GET /ping with 200 within {timeout:.0f} s.\n{log_tail()}")


def tail(text: str, lines: int = 20) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "last log lines:\n  " + "\n  ".join(kept) if kept else "(the log is empty)"
