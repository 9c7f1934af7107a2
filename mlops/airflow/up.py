"""``python -m mlops.airflow.up`` (``make up``): the local stack in the foreground until Ctrl-C.

Starts the endpoint router (``mlops router``), the MLflow UI and Airflow (api-server, scheduler,
dag-processor and triggerer, as ``airflow standalone`` would, every listener on loopback; see stack.py)
with the project's DAGs, creates the training pool, prints the URLs and the login, and stops all of it
on Ctrl-C (or SIGTERM).

Airflow's metadata database: the machine's PostgreSQL when one answers on 127.0.0.1:5432 (database
``mlops_airflow``, created when missing), else SQLite under HOME/airflow. Override with
MLOPS_AIRFLOW_DATABASE (a SQLAlchemy URL, or ``sqlite``). Ports: MLOPS_AIRFLOW_PORT (8080),
MLOPS_MLFLOW_PORT (5000); the router's is MLOPS_ROUTER_PORT (8085).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from mlops.airflow.report import MLFLOW_UI_ENV
from mlops.airflow.request import TRAINING_POOL, TRAINING_POOL_SLOTS
from mlops.airflow.stack import AirflowStack, Service, port_open, postgres_url, start_mlflow_ui, start_router
from mlops.core.errors import MlopsError
from mlops.settings import load_settings


def database_url() -> str | None:
    chosen = os.environ.get("MLOPS_AIRFLOW_DATABASE", "").strip()
    if chosen.lower() == "sqlite":
        return None
    return chosen or postgres_url()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops.airflow.up", description=__doc__.split("\n\n")[0])
    parser.add_argument("--airflow-port", type=int, default=int(os.environ.get("MLOPS_AIRFLOW_PORT", "8080")))
    parser.add_argument("--mlflow-port", type=int, default=int(os.environ.get("MLOPS_MLFLOW_PORT", "5000")))
    parser.add_argument("--no-wait", action="store_true", help="print the URLs and stop at once (a boot check)")
    args = parser.parse_args(argv)

    settings = load_settings()
    for name, port in (("Airflow", args.airflow_port), ("MLflow", args.mlflow_port)):
        if port_open(port):
            raise SystemExit(f"port {port} for {name} is taken; set MLOPS_{name.upper()}_PORT")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    logs = settings.paths.logs
    database = database_url()
    mlflow_url = f"http://127.0.0.1:{args.mlflow_port}"
    stack = AirflowStack(settings, settings.paths.airflow, args.airflow_port, database, mlflow_url)
    services: list[Service] = []
    try:
        print(f"state: {settings.home}", flush=True)
        router = start_router(settings, logs / "router.log")
        if router is not None:
            services.append(router)
        services.append(start_mlflow_ui(settings, args.mlflow_port, logs / "mlflow.log"))
        os.environ[MLFLOW_UI_ENV] = mlflow_url
        where = "PostgreSQL " + database.rsplit("@", 1)[-1] if database else f"SQLite in {stack.airflow_home}"
        print(f"starting airflow (metadata database: {where}) …", flush=True)
        stack.start()
        stack.wait_ready(timeout=600)
        print(
            "\n"
            f"  Airflow UI      {stack.url}   user admin, password {stack.password()}\n"
            f"  MLflow UI       {mlflow_url}\n"
            f"  endpoint router http://{settings.router_host}:{settings.router_port}/endpoints/NAME/invocations\n"
            f"  DAGs            training_pipeline (Trigger ▸ the form), deployment; pool {TRAINING_POOL} "
            f"({TRAINING_POOL_SLOTS} slots)\n"
            f"  logs            {logs} and {stack.airflow_home}/logs\n"
            "\nCtrl-C stops everything.",
            flush=True,
        )
        while not stop.is_set() and not args.no_wait:
            if not all(s.alive() for s in [*stack.services, *services]):
                dead = [s.name for s in [*stack.services, *services] if not s.alive()]
                raise MlopsError(f"{', '.join(dead)} stopped; see {logs}")
            stop.wait(2.0)
        return 0
    except MlopsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        print("stopping …", flush=True)
        stack.stop()
        for service in reversed(services):
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
