"""Failure alerts: a minimal webhook notifier for Airflow's failure callbacks.

The URL comes from the Airflow connection ``mlops_alerts`` (its host, e.g. ``https://hooks.example/…``,
or ``extra.url``), else from the environment variable MLOPS_ALERT_WEBHOOK_URL. With neither, the alert
is only logged. The body is JSON: what failed, where, why, and a link to the task's log in the UI.
A notifier failing never fails the task a second time: errors are logged.
"""

from __future__ import annotations

import json
import os
from typing import Any

from airflow.sdk import BaseNotifier

CONNECTION_ID = "mlops_alerts"
URL_ENV = "MLOPS_ALERT_WEBHOOK_URL"


def webhook_url(connection_id: str = CONNECTION_ID) -> str | None:
    try:
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(connection_id)
    except Exception:  # no such connection (or no metadata database reachable): fall back to the environment
        connection = None
    if connection is not None:
        extra = connection.extra_dejson or {}
        if extra.get("url"):
            return str(extra["url"])
        if connection.host:
            host = str(connection.host)
            if "://" not in host:
                scheme = connection.conn_type if connection.conn_type in ("http", "https") else "https"
                port = f":{connection.port}" if connection.port else ""
                host = f"{scheme}://{host}{port}{'/' + connection.schema if connection.schema else ''}"
            return host
    return os.environ.get(URL_ENV) or None


def alert_payload(context: Any) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    exception = context.get("exception")
    return {
        "source": "mlops/airflow",
        "event": "task_failed",
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None),
        "run_id": context.get("run_id"),
        "task_id": getattr(ti, "task_id", None),
        "try_number": getattr(ti, "try_number", None),
        "error": str(exception)[:2000] if exception else context.get("reason") or "see the task's log",
        "log_url": getattr(ti, "log_url", None),
    }


class WebhookNotifier(BaseNotifier):
    """POST the failure as JSON to the alert webhook."""

    template_fields = ("connection_id",)

    def __init__(self, connection_id: str = CONNECTION_ID, timeout: float = 10.0) -> None:
        super().__init__()
        self.connection_id = connection_id
        self.timeout = timeout

    def notify(self, context: Any) -> None:
        from mlops.monitoring.notify import post_json  # here, not at DAG parse: the DAG files import this module

        payload = alert_payload(context)
        url = webhook_url(self.connection_id)
        self.log.warning("alert: %s", json.dumps(payload))
        if not url:
            self.log.info("no alert webhook (connection %s or %s): alert only logged", self.connection_id, URL_ENV)
            return
        try:
            self.log.info("alert sent to the webhook: HTTP %s", post_json(url, payload, self.timeout))
        except OSError as e:
            self.log.error("the alert webhook did not take the alert: %s", e)


def on_failure() -> list[WebhookNotifier]:
    """What DAGs pass as ``on_failure_callback``."""
    return [WebhookNotifier()]
