"""On-call alerts from monitoring runs: one incident per endpoint and monitor (the deduplication key),
a trigger when a monitor starts violating (again, when its violations change), a resolve when a monitor
that had an open incident completes without violations. Delivery is retried with backoff; what still
cannot be delivered is kept in an outbox file and sent first on the next run, so nothing is lost
silently (every failure is also logged).

State under the notifier's folder: ``incidents/<endpoint>.json`` (open incidents) and ``outbox.jsonl``.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops.core.clock import utcnow
from mlops.core.files import write_atomic
from mlops.core.monitoring import (
    Alert,
    AlertDelivery,
    EventAction,
    MonitoringExecutionStatus,
    MonitoringRun,
    MonitoringSchedule,
    MonitoringType,
    Severity,
)
from mlops.monitoring.notify_targets import AlertingConfig, Channel, MissingSecret, destination, payload

log = logging.getLogger(__name__)


def dedup_key(endpoint: str, monitor: MonitoringType) -> str:
    return f"mlops/{endpoint}/{monitor.value}"


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    attempts: int
    error: str | None
    permanent: bool = False


def post_json(url: str, body: dict[str, Any], timeout: float) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


class Notifier:
    def __init__(
        self,
        config: AlertingConfig,
        state_dir: Path,
        env: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        post: Callable[[str, dict[str, Any], float], int] = post_json,
    ) -> None:
        self.config = config
        self.state_dir = state_dir
        self.env = env if env is not None else os.environ
        self.sleep = sleep
        self.post = post

    # --- incidents -------------------------------------------------------------------------------

    def _incidents_path(self, endpoint: str) -> Path:
        return self.state_dir / "incidents" / f"{endpoint}.json"

    def open_incidents(self, endpoint: str) -> dict[str, Any]:
        path = self._incidents_path(endpoint)
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text())
            return data if isinstance(data, dict) else {}
        except ValueError:
            log.error("incident state %s is unreadable; starting afresh", path)
            return {}

    def _save_incidents(self, endpoint: str, incidents: dict[str, Any]) -> None:
        path = self._incidents_path(endpoint)
        write_atomic(path, json.dumps(incidents, indent=2))

    def alerts_for(self, run: MonitoringRun, schedule: MonitoringSchedule) -> list[Alert]:
        """The alerts this run calls for, updating the open incidents."""
        incidents = self.open_incidents(run.EndpointName)
        alerts: list[Alert] = []
        now = run.EndTime or utcnow()
        for result in run.Monitors:
            key = dedup_key(run.EndpointName, result.MonitoringType)
            spec = schedule.monitor(result.MonitoringType)
            severity = spec.Severity if spec else Severity.error
            if result.Violations:
                signature = sorted({v.key for v in result.Violations})
                if key in incidents and incidents[key].get("violations") == signature:
                    continue  # the same incident, already announced
                first = result.Violations[0].description
                more = f" (+{len(result.Violations) - 1} more)" if len(result.Violations) > 1 else ""
                alerts.append(
                    Alert(
                        EventAction=EventAction.trigger,
                        DedupKey=key,
                        Severity=severity,
                        Summary=f"{run.EndpointName}: {result.MonitoringType.value} monitor found "
                        f"{len(result.Violations)} violation(s): {first}{more}"[:1024],
                        Source=run.EndpointName,
                        Component=result.MonitoringType.value,
                        MonitoringRunName=run.MonitoringRunName,
                        Timestamp=now,
                        Violations=result.Violations,
                        ReportUri=run.ReportUri,
                    )
                )
                incidents[key] = {
                    "violations": signature,
                    "opened": now.isoformat(),
                    "run": run.MonitoringRunName,
                    "severity": severity.value,
                }
            elif key in incidents and result.MonitoringExecutionStatus is MonitoringExecutionStatus.Completed:
                opened = incidents.pop(key)
                alerts.append(
                    Alert(
                        EventAction=EventAction.resolve,
                        DedupKey=key,
                        Severity=Severity(opened.get("severity", severity.value)),  # reaches whoever got the trigger
                        Summary=f"{run.EndpointName}: {result.MonitoringType.value} monitor is clear again "
                        f"(open since {opened.get('opened', '?')}, run {opened.get('run', '?')})",
                        Source=run.EndpointName,
                        Component=result.MonitoringType.value,
                        MonitoringRunName=run.MonitoringRunName,
                        Timestamp=now,
                        ReportUri=run.ReportUri,
                    )
                )
        self._save_incidents(run.EndpointName, incidents)
        return alerts

    # --- delivery --------------------------------------------------------------------------------

    def send(self, channel: Channel, alert: Alert) -> Attempt:
        """Deliver with retries and exponential backoff (network errors, 5xx and 429 are retried)."""
        error = None
        for attempt in range(1, self.config.attempts + 1):
            try:
                status = self.post(
                    destination(channel, self.env), payload(channel, alert, self.env), channel.timeout_seconds
                )
                if 200 <= status < 300:
                    return Attempt(True, attempt, None)
                error = f"HTTP {status}"
            except MissingSecret as e:
                return Attempt(False, attempt, str(e), permanent=True)
            except urllib.error.HTTPError as e:
                detail = e.read()[:200].decode(errors="replace").strip()
                error = f"HTTP {e.code}: {detail}" if detail else f"HTTP {e.code}"
                if 400 <= e.code < 500 and e.code != 429:
                    log.error("alert to %s refused (%s); kept in the outbox", channel.label, error)
                    return Attempt(False, attempt, error, permanent=True)
            except (urllib.error.URLError, OSError, TimeoutError) as e:
                error = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            log.warning("alert to %s failed (attempt %d/%d): %s", channel.label, attempt, self.config.attempts, error)
            if attempt < self.config.attempts:
                self.sleep(self.config.backoff_seconds * 2 ** (attempt - 1))
        return Attempt(False, self.config.attempts, error)

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / "outbox.jsonl"

    def outbox(self) -> list[dict[str, Any]]:
        if not self.outbox_path.is_file():
            return []
        entries = []
        for line in self.outbox_path.read_text().splitlines():
            if line.strip():
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    log.error("an outbox line is unreadable and kept aside: %s", line[:200])
                    with open(self.outbox_path.with_suffix(".unreadable"), "a") as f:
                        f.write(line + "\n")
        return entries

    def _save_outbox(self, entries: list[dict[str, Any]]) -> None:
        write_atomic(self.outbox_path, "".join(json.dumps(e) + "\n" for e in entries))

    def _record(self, channel: Channel, alert: Alert, result: Attempt) -> AlertDelivery:
        return AlertDelivery(
            Target=channel.target,
            Channel=channel.type.value,
            EventAction=alert.EventAction.value,
            DedupKey=alert.DedupKey,
            Delivered=result.delivered,
            Attempts=result.attempts,
            Error=result.error,
        )

    def flush_outbox(self) -> list[AlertDelivery]:
        """Re-send what earlier runs could not deliver; what fails again stays."""
        kept, out = [], []
        for entry in self.outbox():
            channel, alert = Channel.from_spec(entry["channel"]), Alert.model_validate(entry["alert"])
            result = self.send(channel, alert)
            out.append(self._record(channel, alert, result))
            if not result.delivered:
                entry.update(attempts=int(entry.get("attempts", 0)) + result.attempts, last_error=result.error)
                kept.append(entry)
            else:
                log.info("outbox: delivered %s %s to %s", alert.EventAction.value, alert.DedupKey, channel.label)
        self._save_outbox(kept)
        return out

    def deliver(self, alerts: list[Alert], channels: list[Channel], now: datetime | None = None) -> list[AlertDelivery]:
        out, failed = [], []
        for alert in alerts:
            for channel in channels:
                if alert.Severity.rank < channel.min_severity.rank:
                    continue
                result = self.send(channel, alert)
                out.append(self._record(channel, alert, result))
                if not result.delivered:
                    log.error(
                        "alert %s to %s not delivered: %s; kept in %s",
                        alert.DedupKey,
                        channel.label,
                        result.error,
                        self.outbox_path,
                    )
                    failed.append(
                        {
                            "id": uuid.uuid4().hex,
                            "channel": channel.spec(),
                            "alert": alert.model_dump(mode="json"),
                            "attempts": result.attempts,
                            "first_failure": (now or utcnow()).isoformat(),
                            "last_error": result.error,
                        }
                    )
        if failed:
            self._save_outbox(self.outbox() + failed)
        return out

    def notify(self, run: MonitoringRun, schedule: MonitoringSchedule) -> tuple[AlertDelivery, ...]:
        """Re-send the outbox, then announce what this run changed, to the schedule's targets."""
        earlier = self.flush_outbox()
        alerts = self.alerts_for(run, schedule)
        channels = self.config.channels(schedule.AlertTargets) if schedule.AlertTargets else []
        if alerts and not channels:
            log.warning("%d alert(s) for %s but the schedule names no alert targets", len(alerts), run.EndpointName)
        return tuple(earlier + self.deliver(alerts, channels, run.EndTime))
