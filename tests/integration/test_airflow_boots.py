"""The locked dependency set must really run Airflow, not only import it (see NOTES: some resolutions
print "Airflow is ready" while nothing listens). Boots `airflow standalone` and asks its API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mlops.runtime.health import free_port

pytestmark = pytest.mark.integration


def test_airflow_standalone_answers_its_health_api(tmp_path: Path) -> None:
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),  # the api-server starts `airflow` subprocesses
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
    }
    log = open(tmp_path / "standalone.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(Path(bin_dir) / "airflow"), "standalone"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    health: dict[str, dict[str, str]] = {}
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "standalone.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=2) as r:
                    health = json.loads(r.read())
                if all(health.get(k, {}).get("status") == "healthy" for k in ("metadatabase", "scheduler")):
                    break
            except OSError:
                pass
            time.sleep(2)
        assert health.get("metadatabase", {}).get("status") == "healthy", (tmp_path / "standalone.log").read_text()[-3000:]
        assert health.get("scheduler", {}).get("status") == "healthy"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
