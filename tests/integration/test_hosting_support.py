"""Helpers for the hosting integration tests (no tests here): the control process as users run it
(``mlops router`` in a subprocess), the CLI, a continuous client, and a tiny contract-following
algorithm ("echo") whose model servers start in well under a second, for the fault tests."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from pathlib import Path

ROW = "1,0,0,42,46,0,0,1,1,0,0,0,0,1,0,1,72.44,3332.24,2,5,28.2,22"

ECHO_SERVE = '''#!/usr/bin/env python3
"""A contract-following model server for tests: answers 0.5 per CSV row (ECHO_DELAY_MS of sleep)."""
import os
import sys
import time
from pathlib import Path

from mlops.contract.errors import UnsupportedContentTypeError
from mlops.contract.serving import BadRequestError, serve


class Echo:
    def model_fn(self, model_dir: Path) -> str:
        return (model_dir / "model.txt").read_text()

    def input_fn(self, body: bytes, content_type: str) -> list[str]:
        if content_type.split(";")[0] != "text/csv":
            raise UnsupportedContentTypeError(f"content type {content_type} is not supported; use text/csv")
        rows = [r for r in body.decode().splitlines() if r.strip()]
        if not rows:
            raise BadRequestError("the request holds no rows")
        return rows

    def predict_fn(self, data: list[str], model: str) -> list[str]:
        delay = float(os.environ.get("ECHO_DELAY_MS", "0"))
        if delay:
            time.sleep(delay / 1000)
        return [model for _ in data]

    def output_fn(self, prediction: list[str], accept: str) -> tuple[bytes, str]:
        return ("\\n".join(prediction) + "\\n").encode(), "text/csv"


sys.exit(serve(Echo()))
'''

ECHO_SPEC = {
    "AlgorithmName": "echo",
    "AlgorithmVersion": "0",
    "AlgorithmDescription": "test model server: answers the model file's text per row",
    "TrainingSpecification": {
        "SupportedHyperParameters": [],
        "MetricDefinitions": [],
        "TrainingChannels": [{"Name": "train", "IsRequired": False, "SupportedContentTypes": ["text/csv"]}],
    },
    "InferenceSpecification": {"SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
}


def write_echo_algorithm(root: Path) -> Path:
    folder = root / "echo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "algorithm.json").write_text(json.dumps(ECHO_SPEC))
    serve = folder / "serve"
    serve.write_text(ECHO_SERVE)
    serve.chmod(0o755)
    return root


def echo_model(folder: Path, answer: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.txt").write_text(answer)
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "model.txt", arcname="model.txt")
    return archive


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(FileNotFoundError):  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    return False


def wait_until(predicate, timeout: float, what: str, poll: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Hosting:
    """One home, one port, the CLI and the control process as users run them."""

    def __init__(self, home: Path, algorithms: Path | None = None, router_args: tuple[str, ...] = ()) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.router_args = router_args
        self.env = {**os.environ, "MLOPS_HOME": str(home), "MLOPS_ROUTER_PORT": str(self.port),
                    "PYTHONUNBUFFERED": "1"}
        if algorithms is not None:
            self.env["MLOPS_ALGORITHMS_DIR"] = str(algorithms)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / "router.log"
        self.starts = 0

    def cli(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "mlops.cli", *args], capture_output=True, text=True,
                                env=self.env, timeout=timeout)
        if check:
            assert result.returncode == 0, f"mlops {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "mlops.cli", "router", *self.router_args],
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, 30, f"the control process on {self.url}")

    def _healthy(self) -> bool:
        from mlops.services.control_client import ControlProcessUnavailable

        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"the control process exited with {self.proc.returncode}:\n{self.log.read_text()}")
        try:
            return self.client(timeout=2).health().pid == self.proc.pid
        except ControlProcessUnavailable:
            return False

    def client(self, timeout: float = 150.0):  # type: ignore[no-untyped-def]
        """The control API's client with this home's credentials (what the CLI uses)."""
        from mlops.hosting.credentials import ControlCredentials
        from mlops.services.control_client import HostingClient

        return HostingClient(self.url, ControlCredentials.for_home(self.home), timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.proc = None
        return code

    def describe(self, name: str) -> dict:  # type: ignore[type-arg]
        """DescribeEndpoint through the control API (what `mlops endpoints describe --json` prints)."""
        return self.client().describe(name).model_dump(mode="json")

    def create_endpoint(self, name: str, config: str) -> dict:  # type: ignore[type-arg]
        """CreateEndpoint through the control API, waiting until it is InService."""
        client = self.client()
        client.create_endpoint(name, config)
        record = client.wait(name, timeout=120).model_dump(mode="json")
        assert record["EndpointStatus"] == "InService", record
        return record

    def instances(self) -> list[dict]:  # type: ignore[type-arg]
        path = self.home / "hosting" / "instances.json"
        return json.loads(path.read_text())["Instances"] if path.exists() else []

    def pids(self, endpoint: str | None = None, variant: str | None = None) -> list[int]:
        return [i["Pid"] for i in self.instances() if i.get("Pid") and (endpoint is None or i["EndpointName"] ==
                endpoint) and (variant is None or i["VariantName"] == variant)]

    def invoke(self, endpoint: str, body: str = ROW, content_type: str = "text/csv",
               headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST", f"/endpoints/{endpoint}/invocations", body=body.encode(),
                         headers={"Content-Type": content_type, **(headers or {})})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def wait_status(self, name: str, status: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
        def check() -> dict | None:  # type: ignore[type-arg]
            record = self.describe(name)
            settled = (record.get("Deployment") or {}).get("Status") != "InProgress"
            return record if record["EndpointStatus"] == status and settled else None
        return wait_until(check, timeout, f"endpoint {name} {status}", poll=0.3)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()


class ContinuousClient:
    """Sends requests back to back on a keep-alive connection until stopped; counts every answer."""

    def __init__(self, port: int, endpoint: str, body: str = ROW, pause: float = 0.0) -> None:
        self.port = port
        self.endpoint = endpoint
        self.body = body.encode()
        self.pause = pause
        self.statuses: Counter[int] = Counter()
        self.variants: Counter[str] = Counter()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ContinuousClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.is_set():
            try:
                conn.request("POST", f"/endpoints/{self.endpoint}/invocations", body=self.body,
                             headers={"Content-Type": "text/csv"})
                response = conn.getresponse()
                payload = response.read()
                self.statuses[response.status] += 1
                self.variants[response.getheader("x-Amzn-Invoked-Production-Variant") or "?"] += 1
                if response.status != 200:
                    self.errors.append(f"{response.status}: {payload[:300]!r}")
            except Exception as e:  # a dropped connection is an error the test must see
                self.errors.append(f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            if self.pause:
                time.sleep(self.pause)
        conn.close()
