"""A small client of Airflow 3's public REST API (``/api/v2``), used by the demo, ``make up``, the
benchmarks and the end-to-end tests — the same calls a person's browser makes.

Calls: ``POST /auth/token`` (log in), ``GET /api/v2/monitor/health``, ``PATCH /api/v2/dags/{dag}``
(unpause), ``POST /api/v2/dags/{dag}/dagRuns`` (trigger with conf), ``GET …/dagRuns/{run}``,
``GET …/dagRuns/{run}/taskInstances``, ``GET …/dagRuns/{run}/hitlDetails`` (pending approvals),
``PATCH …/dagRuns/{run}/taskInstances/{task}/-1/hitlDetails`` (answer one),
``GET …/taskInstances/{task}/xcomEntries/return_value``, ``GET/POST /api/v2/pools``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from mlops.core.errors import MlopsError

TERMINAL_RUN_STATES = ("success", "failed")


class AirflowApiError(MlopsError):
    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {detail[:500]}")
        self.status = status


class AirflowClient:
    def __init__(self, base_url: str, username: str = "admin", password: str | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self._token: str | None = None
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def login(self) -> str:
        response = self._http.post("/auth/token", json={"username": self.username, "password": self.password or ""})
        if response.status_code not in (200, 201):
            raise AirflowApiError("POST", "/auth/token", response.status_code, response.text)
        self._token = str(response.json()["access_token"])
        return self._token

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        if self._token is None:
            self.login()
        for attempt in range(2):
            sent = {**(headers or {}), "Authorization": f"Bearer {self._token}"}
            response = self._http.request(method, path, headers=sent, **kwargs)
            if response.status_code == 401 and attempt == 0:
                self.login()  # the token expired
                continue
            break
        if response.status_code >= 400:
            raise AirflowApiError(method, path, response.status_code, response.text)
        return response.json() if response.content else None

    # --- health, pools, dags ----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        response = self._http.get("/api/v2/monitor/health")
        response.raise_for_status()
        return dict(response.json())

    def ensure_pool(self, name: str, slots: int, description: str, include_deferred: bool = True) -> dict[str, Any]:
        body = {"slots": slots, "description": description, "include_deferred": include_deferred}
        try:
            return dict(self.request("PATCH", f"/api/v2/pools/{quote(name)}", json={"name": name, **body}))
        except AirflowApiError as e:
            if e.status != 404:
                raise
        return dict(self.request("POST", "/api/v2/pools", json={"name": name, **body}))

    def dag(self, dag_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/v2/dags/{dag_id}"))

    def unpause(self, dag_id: str) -> dict[str, Any]:
        return dict(self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False}))

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/v2/importErrors").get("import_errors", []))

    # --- runs -------------------------------------------------------------------------------------

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, run_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return dict(self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body))

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return list(self.request("GET", path, params={"limit": 100}).get("task_instances", []))

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
        return dict(self.request("GET", path))

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.request("GET", path, params={"deserialize": "true", "stringify": "false"}).get("value")

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}"
        answer = self.request("GET", path, headers={"Accept": "application/json"})
        content = answer.get("content") if isinstance(answer, dict) else answer
        if isinstance(content, list):
            return "\n".join(str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in content)
        return str(content)

    # --- human in the loop ------------------------------------------------------------------------

    def hitl_details(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/hitlDetails"
        return list(self.request("GET", path).get("hitl_details", []))

    def respond(
        self, dag_id: str, run_id: str, task_id: str, option: str, params_input: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Answer an approval exactly as the UI's Required Actions page does."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/-1/hitlDetails"
        body = {"chosen_options": [option], "params_input": params_input or {}}
        return dict(self.request("PATCH", path, json=body))

    # --- waiting ----------------------------------------------------------------------------------

    def wait_for(
        self,
        what: str,
        probe: Callable[[], Any],
        timeout: float,
        poll: float = 2.0,
        fail: Callable[[], str | None] = lambda: None,
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            problem = fail()
            if problem:
                raise MlopsError(f"while waiting for {what}: {problem}")
            if time.monotonic() > deadline:
                raise MlopsError(f"timed out after {timeout:g}s waiting for {what}")
            time.sleep(poll)

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 1200.0, poll: float = 3.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            run = self.dag_run(dag_id, run_id)
            return run if run["state"] in TERMINAL_RUN_STATES else None

        return dict(self.wait_for(f"run {run_id} of {dag_id} to end", probe, timeout, poll))

    def wait_for_approval(
        self, dag_id: str, run_id: str, timeout: float = 1200.0, poll: float = 3.0, settle_seconds: float = 10.0
    ) -> dict[str, Any]:
        """The pending approval of a run, once its task waits for an answer (fails fast if the run ends),
        and at least ``settle_seconds`` after it was asked (see ``settle``)."""

        def probe() -> dict[str, Any] | None:
            pending = [h for h in self.hitl_details(dag_id, run_id) if not h.get("response_received")]
            return pending[0] if pending else None

        def ended() -> str | None:
            run = self.dag_run(dag_id, run_id)
            if run["state"] in TERMINAL_RUN_STATES:
                failed = [t["task_id"] for t in self.task_instances(dag_id, run_id) if t["state"] == "failed"]
                return f"the run ended {run['state']} before asking for approval (failed: {failed})"
            return None

        detail = dict(self.wait_for(f"the approval of run {run_id}", probe, timeout, poll, ended))
        settle(detail, settle_seconds)
        return detail


def settle(detail: dict[str, Any], seconds: float) -> None:
    """Wait until an approval has been pending for ``seconds``, as a person would. An answer within
    seconds of the task's deferral can meet an Airflow 3.2.2 race (the scheduler handling the deferring
    worker's exit after the resumed try started: "state mismatch", apache/airflow#72716)."""
    from datetime import UTC, datetime

    created = detail.get("created_at")
    waited = 0.0
    if created:
        waited = (datetime.now(UTC) - datetime.fromisoformat(str(created).replace("Z", "+00:00"))).total_seconds()
    time.sleep(max(0.0, seconds - waited))
