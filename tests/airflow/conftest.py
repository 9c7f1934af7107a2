"""Airflow for the tests.

- A private AIRFLOW_HOME, set here before anything imports Airflow (its configuration is read once,
  at import), with the project's dags folder.
- ``airflow_db``: the metadata database (SQLite) that ``dag.test()`` runs against.
- ``mlops_home``: a private MLOPS_HOME with its own endpoint router on a free port.
- ``webhook``: a local HTTP server that records the alerts the failure callbacks send.
- ``stack``: one Airflow (``mlops.airflow.stack``: its four components, with its own MLOPS_HOME, router
  and alert webhook), booted in the background from the end of collection on, with every end-to-end run
  triggered at once as soon as it is up; the REST and browser tests then only wait for their run.
  Stopped at the session's end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
_ROOT = Path(tempfile.mkdtemp(prefix="mlops-airflow-tests-"))
_AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(_ROOT / "airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
}
os.environ.update(_AIRFLOW_ENV)

E2E_POLICY = """environments:
  e2e:
    minimum:
      auc: 0.6
    required_checks: [data_quality, evaluation]
"""


def _free_port() -> int:
    from mlops.airflow.stack import free_port

    return free_port()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The metadata database dag.test() uses (created once per session)."""
    import airflow.configuration

    if Path(airflow.configuration.AIRFLOW_HOME) != Path(_AIRFLOW_ENV["AIRFLOW_HOME"]):
        pytest.skip("Airflow was imported before tests/airflow/conftest.py could give it a private AIRFLOW_HOME")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return Path(_AIRFLOW_ENV["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def mlops_home() -> Iterator[Path]:
    """MLOPS_HOME of the in-process dag.test() runs, with its endpoint router."""
    from mlops.airflow.stack import start_router
    from mlops.settings import Settings

    home = _ROOT / "mlops-dagtest"
    port = _free_port()
    previous = {k: os.environ.get(k) for k in ("MLOPS_HOME", "MLOPS_ROUTER_PORT")}
    os.environ["MLOPS_HOME"] = str(home)
    os.environ["MLOPS_ROUTER_PORT"] = str(port)
    router = start_router(Settings(home=home, router_port=port), home / "router.log")
    try:
        yield home
    finally:
        if router is not None:
            router.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Webhook:
    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        received = self.alerts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, predicate: Any, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for alert in self.alerts:
                if predicate(alert):
                    return alert
            time.sleep(0.2)
        raise AssertionError(f"no matching alert; received {self.alerts}")


@pytest.fixture(scope="session")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    os.environ["MLOPS_ALERT_WEBHOOK_URL"] = hook.url
    try:
        yield hook
    finally:
        os.environ.pop("MLOPS_ALERT_WEBHOOK_URL", None)
        hook.server.shutdown()


E2E_DAG = "training_pipeline"


def e2e_conf(policy: Path, endpoint: str, **extra: Any) -> dict[str, Any]:
    """A small run: 3,000 rows, one training job, an all-at-once deployment, the ``e2e`` policy."""
    return {
        "bundled_rows": 3000,
        "tuning_strategy": "none",
        "environment": "e2e",
        "policy_file": str(policy),
        "endpoint_name": endpoint,
        "deployment_strategy": "all-at-once",
        "bake_seconds": 0,
        "smoke_requests": 30,
        **extra,
    }


def e2e_runs(policy: Path, strict_policy: Path) -> dict[str, dict[str, Any]]:
    """Every end-to-end run, triggered together as soon as Airflow is up, so their stages overlap."""
    return {
        "approve": e2e_conf(policy, "e2e-approved"),
        "reject": e2e_conf(policy, "e2e-rejected"),
        "browser": e2e_conf(policy, "e2e-browser"),
        "policy": e2e_conf(strict_policy, "e2e-policy"),
        "bad": e2e_conf(policy, "e2e-bad", algorithm="random-forest"),
    }


class Stack:
    """The booted Airflow and what the tests need to reach it."""

    def __init__(self, airflow: Any, client: Any, settings: Any, webhook: Webhook, runs: dict[str, str]) -> None:
        self.airflow, self.client, self.settings, self.webhook, self.runs = airflow, client, settings, webhook, runs

    @property
    def url(self) -> str:
        return str(self.airflow.url)


class EarlyStack(threading.Thread):
    """Boots Airflow (with its own MLOPS_HOME and router) and triggers the end-to-end runs
    in the background, from the end of collection on, so the boot overlaps the tests that run first."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.error: BaseException | None = None
        self.stack: Stack | None = None
        self.airflow: Any = None
        self.router: Any = None

    def run(self) -> None:
        try:
            from mlops.airflow.stack import AirflowStack, free_port, start_router
            from mlops.settings import Settings

            policy, strict = _ROOT / "e2e-policy.yaml", _ROOT / "e2e-strict-policy.yaml"
            policy.write_text(E2E_POLICY)
            strict.write_text(E2E_POLICY.replace("auc: 0.6", "auc: 0.999"))
            webhook = Webhook()
            settings = Settings(home=_ROOT / "mlops-e2e", router_port=free_port(), stop_grace_seconds=5)
            self.router = start_router(settings, settings.home / "router.log")
            self.airflow = AirflowStack(
                settings, _ROOT / "airflow-e2e", free_port(), extra_env={"MLOPS_ALERT_WEBHOOK_URL": webhook.url}
            )
            self.airflow.start()
            client = self.airflow.wait_ready(timeout=900)
            client.unpause(E2E_DAG)
            runs = {
                name: client.trigger(E2E_DAG, conf)["dag_run_id"] for name, conf in e2e_runs(policy, strict).items()
            }
            self.stack = Stack(self.airflow, client, settings, webhook, runs)
        except BaseException as e:
            self.error = e

    def stop(self) -> None:
        if self.airflow is not None:
            self.airflow.stop()
        if self.router is not None:
            self.router.stop()


_early: EarlyStack | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    global _early
    if any("stack" in getattr(item, "fixturenames", ()) for item in session.items):
        _early = EarlyStack()
        _early.start()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """One Airflow with the project's DAGs for the whole session, its runs triggered."""
    assert _early is not None
    _early.join(timeout=1200)
    if _early.error is not None:
        raise _early.error
    assert _early.stack is not None, "airflow did not come up in time"
    try:
        yield _early.stack
    finally:
        _early.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _early is not None:
        _early.join(timeout=1)
        _early.stop()  # when no test asked for it after all
    if exitstatus == 0:
        shutil.rmtree(_ROOT, ignore_errors=True)
