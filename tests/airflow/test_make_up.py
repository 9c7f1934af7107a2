"""`make up` (``python -m mlops.airflow.up``) as a user runs it: Airflow on the machine's PostgreSQL (a
scratch database here, so the user's own ``mlops_airflow`` is untouched), the MLflow UI and the endpoint
router; it prints the URLs and the login, the login works, the DAGs and the training pool are there, and
Ctrl-C stops every process it started."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops.airflow.rest import AirflowClient
from mlops.airflow.stack import free_port, port_open
from tests.processes import live_processes_whose_environment

pytestmark = pytest.mark.integration

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _admin(statement: str) -> None:
    import psycopg2

    connection = psycopg2.connect(dbname="postgres", connect_timeout=5, **PG)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


@pytest.fixture
def scratch_database() -> Iterator[str]:
    if not port_open(PG["port"], PG["host"]):
        pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
    name = f"mlops_airflow_test_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status)


def test_make_up_serves_airflow_on_postgresql_mlflow_and_the_router(scratch_database: str, tmp_path: Path) -> None:
    airflow_port, mlflow_port, router_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "MLOPS_HOME": str(tmp_path / "home"),
        "MLOPS_ROUTER_PORT": str(router_port),
        "MLOPS_AIRFLOW_DATABASE": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{scratch_database}",
    }
    command = [sys.executable, "-m", "mlops.airflow.up", "--airflow-port", str(airflow_port)]
    command += ["--mlflow-port", str(mlflow_port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    printed: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, printed), daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 900
        while not any("Ctrl-C stops everything." in line for line in output):
            assert process.poll() is None, "make up exited:\n" + "".join(output)
            assert time.monotonic() < deadline, "make up was not ready in 900 s:\n" + "".join(output)
            with contextlib.suppress(queue.Empty):
                output.append(printed.get(timeout=5))
        text = "".join(output)
        assert f"metadata database: PostgreSQL 127.0.0.1:5432/{scratch_database}" in text, text
        login = re.search(rf"Airflow UI\s+http://127\.0\.0\.1:{airflow_port}\s+user admin, password (\S+)", text)
        assert login, text
        assert f"MLflow UI       http://127.0.0.1:{mlflow_port}" in text
        assert f"http://127.0.0.1:{router_port}/endpoints/NAME/invocations" in text

        client = AirflowClient(f"http://127.0.0.1:{airflow_port}", "admin", login.group(1))
        client.login()
        health = client.health()
        assert health["metadatabase"]["status"] == "healthy", health
        for dag_id in ("training_pipeline", "deployment", "monitoring_schedules"):
            assert client.dag(dag_id)["dag_id"] == dag_id
        assert not client.import_errors()
        pool = client.request("GET", "/api/v2/pools/mlops_training")
        assert pool["slots"] == 2 and pool["include_deferred"] is True
        assert _get(f"http://127.0.0.1:{mlflow_port}/health") == 200
        assert _get(f"http://127.0.0.1:{router_port}/ping") == 200

        import psycopg2

        connection = psycopg2.connect(dbname=scratch_database, connect_timeout=5, **PG)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT dag_id FROM dag ORDER BY dag_id")
                assert {row[0] for row in cursor.fetchall()} >= {"training_pipeline", "deployment"}
        finally:
            connection.close()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            code = process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert code == 0
    for port in (airflow_port, mlflow_port, router_port):
        assert not port_open(port), f"port {port} still answers after Ctrl-C"
    home = str(tmp_path / "home")
    left = live_processes_whose_environment(lambda env: env.get("MLOPS_HOME", "").rstrip("/") == home)
    assert not left, f"processes of make up left after Ctrl-C: {left}"
