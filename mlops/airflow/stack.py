"""Starting and stopping the local stack: Airflow's four components (api-server, scheduler,
dag-processor, triggerer) with the project's DAGs, the endpoint router (``mlops router``) and the MLflow UI.

Used by ``make up`` (``python -m mlops.airflow.up``), ``make demo`` (``python -m mlops.airflow.demo``)
and the end-to-end tests. Every process is started in its own session and stopped by its process
group, so stopping the stack leaves nothing of it running.

Airflow's components are started one by one, as ``airflow standalone`` would start them, because
standalone cannot keep them on loopback: its scheduler and triggerer each start a log server
(``serve-logs``) that binds every interface (0.0.0.0 and [::]; Airflow 3.2 has no setting for its host).
Here they run with ``--skip-serve-logs``: every component shares AIRFLOW_HOME's log folder on this
machine, and the api-server reads task and trigger logs from it (Airflow's FileTaskHandler reads the
local file first), so the UI and the REST API show them without any log server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mlops.airflow.request import REPO_ROOT, TRAINING_POOL, TRAINING_POOL_SLOTS
from mlops.airflow.rest import AirflowClient
from mlops.core.errors import MlopsError
from mlops.settings import Settings, settings_environment

DAGS_FOLDER = REPO_ROOT / "dags"
BIN = Path(sys.executable).parent
POSTGRES_DATABASE = "mlops_airflow"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
# Airflow's components, as `airflow standalone` starts them, minus the log servers (see the docstring)
COMPONENTS: tuple[tuple[str, ...], ...] = (
    ("api-server",),
    ("scheduler", "--skip-serve-logs"),
    ("dag-processor",),
    ("triggerer", "--skip-serve-logs"),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


# --------------------------------------------------------------------------------------- databases


def postgres_url(host: str = "127.0.0.1", port: int = 5432, user: str = "postgres") -> str | None:
    """Airflow's metadata database on the machine's PostgreSQL (database mlops_airflow, created when
    missing), or None when no PostgreSQL answers (then Airflow keeps its embedded SQLite)."""
    if not port_open(port, host):
        return None
    try:
        import asyncpg  # noqa: F401  (Airflow 3 also opens the metadata database asynchronously)
        import psycopg2
    except ImportError:
        print("PostgreSQL answers, but psycopg2 and asyncpg are not both installed: Airflow keeps SQLite")
        return None
    try:
        connection = psycopg2.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=5)
    except psycopg2.Error:
        return None
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (POSTGRES_DATABASE,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    finally:
        connection.close()
    return f"postgresql+psycopg2://{user}@{host}:{port}/{POSTGRES_DATABASE}"


# ------------------------------------------------------------------------------------------ processes


@dataclass
class Service:
    """A process of the stack, started in its own session with its output in a log file."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    _terminated: bool = field(default=False, repr=False)

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def terminate(self) -> None:
        """Ask the process group to stop (SIGTERM); ``stop`` then waits for it."""
        if self.process is not None and not self._terminated:
            self._terminated = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, grace: float = 60.0) -> None:
        if self.process is not None:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
            with contextlib.suppress(ProcessLookupError):  # anything of its group still there
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class AirflowStack:
    """Airflow's components in AIRFLOW_HOME with the project's DAGs, every listener on loopback."""

    settings: Settings
    airflow_home: Path
    port: int
    database_url: str | None = None  # None: SQLite in airflow_home
    mlflow_ui_url: str | None = None
    dags_folder: Path = DAGS_FOLDER
    extra_env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    # where the api-server looks for the scheduler's and the triggerer's log servers while a task runs or
    # waits: none is started (see the docstring), and a free port each means it never asks another stack's
    log_ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {**os.environ, **settings_environment(self.settings)}
        env.update(
            {
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the api-server starts `airflow`
                "AIRFLOW_HOME": str(self.airflow_home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # what `airflow standalone` would force: one machine, its generated admin password
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "60",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_ports[1]),
                # off by default; should someone enable it, it binds 0.0.0.0 unless told otherwise
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
                "NO_COLOR": "1",
            }
        )
        if self.database_url:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = self.database_url
        if self.mlflow_ui_url:
            env["MLOPS_MLFLOW_UI_URL"] = self.mlflow_ui_url
        env.update(self.extra_env)
        return env

    def password(self, user: str = "admin") -> str:
        path = self.airflow_home / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(path.read_text())[user])

    def client(self, user: str = "admin") -> AirflowClient:
        return AirflowClient(self.url, user, self.password(user))

    def start(self, migrate_timeout: float = 900.0) -> AirflowStack:
        """Migrate the metadata database (as standalone does first), then start every component, each in
        its own session with its output in AIRFLOW_HOME/<component>.log."""
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        migrate_log = self.airflow_home / "db-migrate.log"
        with open(migrate_log, "ab") as log:
            try:
                done = subprocess.run(
                    [str(BIN / "airflow"), "db", "migrate"],
                    env=env,
                    cwd=REPO_ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=migrate_timeout,
                )
            except subprocess.TimeoutExpired:
                raise MlopsError(
                    f"airflow db migrate did not end within {migrate_timeout:g}s; see {migrate_log}"
                ) from None
        if done.returncode != 0:
            tail = migrate_log.read_text(errors="replace")[-3000:]
            raise MlopsError(f"airflow db migrate failed (exit {done.returncode}):\n{tail}")
        for command in COMPONENTS:
            name = command[0]
            service = Service(name, [str(BIN / "airflow"), *command], env, self.airflow_home / f"{name}.log")
            self.services.append(service.start())
        return self

    def wait_ready(
        self, timeout: float = 420.0, dag_ids: tuple[str, ...] = ("training_pipeline", "deployment")
    ) -> AirflowClient:
        """Until every component reports healthy, the admin can log in and the DAGs are parsed; then the
        training pool exists (with deferred tasks counted, so waiting tuning jobs hold their slots)."""
        deadline = time.monotonic() + timeout
        components = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        client: AirflowClient | None = None
        last: Exception | None = None
        while True:
            for service in self.services:
                if not service.alive():
                    raise MlopsError(f"airflow {service.name} exited ({service.log_path}):\n{service.tail()}")
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {s.name} ({s.log_path}):\n{s.tail(1500)}" for s in self.services)
                raise MlopsError(f"airflow was not ready after {timeout:g}s (last: {last}):\n{tails}")
            try:
                if client is None:
                    health = AirflowClient(self.url).health()
                    if all((health.get(c) or {}).get("status") == "healthy" for c in components):
                        client = self.client()
                        client.login()
                if client is not None:
                    for dag_id in dag_ids:
                        client.dag(dag_id)
                    client.ensure_pool(
                        TRAINING_POOL,
                        TRAINING_POOL_SLOTS,
                        "training jobs running at once (mlops)",
                        include_deferred=True,
                    )
                    return client
            except Exception as e:  # not up yet: connection refused, 404 until the DAGs are parsed, …
                last = e
            time.sleep(2)

    def stop(self) -> None:
        """Every component is asked at once (as standalone stops them), then each is waited for."""
        for service in self.services:
            service.terminate()
        for service in reversed(self.services):
            service.stop()
        self.services.clear()


# --------------------------------------------------------------------------------- router and MLflow


def router_pid(settings: Settings) -> int | None:
    """The pid of the control process answering on the settings' router address, if any does (asked
    with this home's credentials: one of another home refuses them, which is an error here)."""
    from mlops.services.control_client import ControlAccessDenied, ControlProcessUnavailable
    from mlops.services.hosting_wiring import control_client_for

    try:
        return control_client_for(settings, timeout=2).health().pid
    except ControlProcessUnavailable:
        return None
    except ControlAccessDenied as e:
        raise MlopsError(
            f"another endpoint router (not this home's) answers on {settings.router_host}:{settings.router_port}"
            f"; stop it or set MLOPS_ROUTER_PORT ({e})"
        ) from None


def router_of_this_home(settings: Settings) -> bool:
    """True when the router answering on the settings' address is the one of this MLOPS_HOME."""
    from mlops.hosting.store import HostingStore

    pid = router_pid(settings)
    if pid is None:
        return False
    try:
        owner = json.loads(HostingStore(settings.home).control_path.read_text()).get("pid")
    except (OSError, ValueError):
        owner = None
    if owner != pid:
        raise MlopsError(
            f"another endpoint router (pid {pid}, not this home's) answers on {settings.router_host}:"
            f"{settings.router_port}; stop it or set MLOPS_ROUTER_PORT"
        )
    return True


def start_router(settings: Settings, log_path: Path, timeout: float = 120.0) -> Service | None:
    """The endpoint router (``mlops router``); None when one already answers on the settings' address."""
    if router_of_this_home(settings):
        return None
    env = {**os.environ, **settings_environment(settings), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    service = Service("router", [sys.executable, "-m", "mlops", "router"], env, log_path).start()
    deadline = time.monotonic() + timeout
    while router_pid(settings) is None:
        if not service.alive():
            raise MlopsError(f"the endpoint router exited:\n{service.tail()}")
        if time.monotonic() > deadline:
            service.stop()
            raise MlopsError(f"the endpoint router did not answer within {timeout:g}s:\n{service.tail()}")
        time.sleep(0.5)
    return service


def start_mlflow_ui(settings: Settings, port: int, log_path: Path, timeout: float = 180.0) -> Service:
    artifacts = settings.paths.mlflow_artifacts.resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    command = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        settings.mlflow_uri,
        "--default-artifact-root",
        artifacts.as_uri(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    service = Service("mlflow", command, dict(os.environ), log_path).start()
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return service
        except OSError:
            pass
        if not service.alive():
            raise MlopsError(f"the MLflow UI exited:\n{service.tail()}")
        if time.monotonic() > deadline:
            service.stop()
            raise MlopsError(f"the MLflow UI did not answer within {timeout:g}s:\n{service.tail()}")
        time.sleep(1)
