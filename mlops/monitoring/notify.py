"""On-call alerts from monitoring runs: one incident per endpoint and monitor (the deduplication key),
a trigger when a monitor starts violating (again, when its violations change), a resolve when a monitor
that had an open incident completes without violations. Delivery is retried with backoff; what still
cannot be delivered is kept in an outbox file and sent first on the next run, so nothing is lost
silently (every failure is also logged). An alert a receiver refuses (4xx but 408/429, or a missing
secret) is dropped from the outbox after ``give_up_after`` tries, with the reason logged.

Several processes share the state (the monitoring DAG maps its schedules in parallel): every
read-modify-write of it holds ``state.lock`` (flock), and one process at a time sends the outbox.
Delivery is at-least-once: an incident is recorded as announced after delivery, so a crash in between
re-sends the alert with the same dedup key.

State under the notifier's folder: ``incidents/<endpoint>.json`` (open incidents), ``outbox.jsonl`` and
the two lock files."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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
from mlops.monitoring.notify_targets import (
    AlertingConfig,
    Channel,
    MissingSecret,
    destination,
    payload,
    permanent_failure,
)

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

    def _record_incident(self, alert: Alert) -> None:
        """Note ``alert`` as announced (a trigger opens or updates its incident, a resolve closes it)."""
        with self._locked():
            incidents = self.open_incidents(alert.Source)
            if alert.EventAction is EventAction.trigger:
                incidents[alert.DedupKey] = {
                    "violations": sorted({v.key for v in alert.Violations}),
                    "opened": alert.Timestamp.isoformat(),
                    "run": alert.MonitoringRunName,
                    "severity": alert.Severity.value,
                }
            else:
                incidents.pop(alert.DedupKey, None)
            write_atomic(self._incidents_path(alert.Source), json.dumps(incidents, indent=2), durable=True)

    def alerts_for(self, run: MonitoringRun, schedule: MonitoringSchedule) -> list[Alert]:
        """The alerts this run calls for, against the incidents announced so far (nothing is recorded
        here: ``notify`` records each alert once it is delivered or queued in the outbox)."""
        incidents = self.open_incidents(run.EndpointName)
        alerts: list[Alert] = []
        now = run.EndTime or utcnow()
        for result in run.Monitors:
            key = dedup_key(run.EndpointName, result.MonitoringType)
            spec = schedule.monitor(result.MonitoringType)
            severity = spec.Severity if spec else Severity.error
            if result.Violations:
                if key in incidents:
                    continue  # the incident is open and was announced: it stays one page until the monitor is clear
                top = result.Violations[0]
                first = top.description if top.subject in top.description else f"{top.subject}: {top.description}"
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
            elif key in incidents and result.MonitoringExecutionStatus is MonitoringExecutionStatus.Completed:
                opened = incidents[key]
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
        return alerts

    # --- delivery --------------------------------------------------------------------------------

    def send(self, channel: Channel, alert: Alert) -> Attempt:
        """Deliver with retries and exponential backoff (network errors, 5xx, 408 and 429 are retried;
        any other 4xx and a missing secret are permanent and not retried)."""
        error = None
        for attempt in range(1, self.config.attempts + 1):
            try:
                status = self.post(
                    destination(channel, self.env), payload(channel, alert, self.env), channel.timeout_seconds
                )
                if 200 <= status < 300:
                    return Attempt(True, attempt, None)
                error = f"HTTP {status}"
                if permanent_failure(status):
                    return Attempt(False, attempt, error, permanent=True)
            except MissingSecret as e:
                return Attempt(False, attempt, str(e), permanent=True)
            except urllib.error.HTTPError as e:
                detail = e.read()[:200].decode(errors="replace").strip()
                error = f"HTTP {e.code}: {detail}" if detail else f"HTTP {e.code}"
                if permanent_failure(e.code):
                    log.error("alert to %s refused (%s)", channel.label, error)
                    return Attempt(False, attempt, error, permanent=True)
            except (urllib.error.URLError, OSError, TimeoutError) as e:
                error = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            log.warning("alert to %s failed (attempt %d/%d): %s", channel.label, attempt, self.config.attempts, error)
            if attempt < self.config.attempts:
                self.sleep(self.config.backoff_seconds * 2 ** (attempt - 1))
        return Attempt(False, self.config.attempts, error)

    # --- the outbox: every read-modify-write under the state lock --------------------------------

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / "outbox.jsonl"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The state folder's lock (flock): held for each read-modify-write of the outbox or incidents,
        never while an alert is sent."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "state.lock", "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield

    def outbox(self) -> list[dict[str, Any]]:
        with self._locked():
            return self._read_outbox()

    def _read_outbox(self) -> list[dict[str, Any]]:
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

    def _write_outbox(self, entries: list[dict[str, Any]]) -> None:
        write_atomic(self.outbox_path, "".join(json.dumps(e) + "\n" for e in entries), durable=True)

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

    def _settle(self, results: Mapping[str, Attempt]) -> None:
        """After outbox sends (entry id → result): remove what was delivered; count a try of the rest,
        and drop an entry refused ``give_up_after`` times (logging why)."""
        with self._locked():
            kept = []
            for entry in self._read_outbox():
                result = results.get(entry.get("id", ""))
                if result is None:
                    kept.append(entry)
                    continue
                if result.delivered:
                    continue
                tries = int(entry.get("tries", 1)) + 1
                entry.update(
                    tries=tries,
                    attempts=int(entry.get("attempts", 0)) + result.attempts,
                    last_error=result.error,
                    permanent=result.permanent,
                )
                if result.permanent and tries >= self.config.give_up_after:
                    alert = entry.get("alert", {})
                    log.error(
                        "outbox: dropped %s %s to %s after %d tries: %s (first failure %s)",
                        alert.get("EventAction"),
                        alert.get("DedupKey"),
                        Channel.from_spec(entry["channel"]).label,
                        tries,
                        result.error,
                        entry.get("first_failure"),
                    )
                    continue
                kept.append(entry)
            self._write_outbox(kept)

    def flush_outbox(self) -> list[AlertDelivery]:
        """Re-send what earlier runs could not deliver; what fails again stays (but see ``_settle``).

        One process at a time sends the outbox (a second lock; another process finding it taken skips
        this round), so no entry is sent twice by two processes; each entry is removed as soon as it is
        delivered. A crash between a delivery and its removal sends it again next time, with the same
        dedup key (at-least-once; PagerDuty deduplicates on it)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "outbox.sending.lock", "a") as sending:
            try:
                fcntl.flock(sending.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("outbox: another process is sending it; its entries wait for that one")
                return []
            out, failed = [], {}
            for entry_id in [e.get("id") for e in self.outbox()]:
                entry = next((e for e in self.outbox() if e.get("id") == entry_id), None)
                if entry is None or entry_id is None:
                    continue  # superseded by a newer alert of the same incident meanwhile
                channel, alert = Channel.from_spec(entry["channel"]), Alert.model_validate(entry["alert"])
                result = self.send(channel, alert)
                out.append(self._record(channel, alert, result))
                if result.delivered:  # recorded at once: a crash now re-sends only this one
                    self._settle({entry_id: result})
                    log.info("outbox: delivered %s %s to %s", alert.EventAction.value, alert.DedupKey, channel.label)
                else:
                    failed[entry_id] = result
            if failed:
                self._settle(failed)
            return out

    def _queue(self, channel: Channel, alert: Alert, result: Attempt, now: datetime | None) -> None:
        """Put an undelivered alert in the outbox (in place of older ones of its incident and channel)."""
        with self._locked():
            entries = [e for e in self._read_outbox() if not _same_incident(e, channel, alert)]
            entries.append(
                {
                    "id": uuid.uuid4().hex,
                    "channel": channel.spec(),
                    "alert": alert.model_dump(mode="json"),
                    "tries": 1,
                    "attempts": result.attempts,
                    "first_failure": (now or utcnow()).isoformat(),
                    "last_error": result.error,
                    "permanent": result.permanent,
                }
            )
            self._write_outbox(entries)

    def _forget_older(self, channel: Channel, alert: Alert) -> None:
        """A newer alert of an incident reached ``channel``: older ones waiting for it are stale."""
        with self._locked():
            entries = self._read_outbox()
            kept = [e for e in entries if not _same_incident(e, channel, alert)]
            if len(kept) != len(entries):
                log.info("outbox: %d older alert(s) of %s to %s superseded", len(entries) - len(kept),
                         alert.DedupKey, channel.label)  # fmt: skip
                self._write_outbox(kept)

    def deliver(self, alerts: list[Alert], channels: list[Channel], now: datetime | None = None) -> list[AlertDelivery]:
        """Send each alert to each channel that takes its severity; what fails goes to the outbox."""
        out = []
        for alert in alerts:
            for channel in channels:
                if alert.Severity.rank < channel.min_severity.rank:
                    continue
                result = self.send(channel, alert)
                out.append(self._record(channel, alert, result))
                if result.delivered:
                    self._forget_older(channel, alert)
                    continue
                log.error(
                    "alert %s to %s not delivered: %s; kept in %s",
                    alert.DedupKey,
                    channel.label,
                    result.error,
                    self.outbox_path,
                )
                self._queue(channel, alert, result, now)
        return out

    def notify(self, run: MonitoringRun, schedule: MonitoringSchedule) -> tuple[AlertDelivery, ...]:
        """Re-send the outbox, then announce what this run changed, to the schedule's targets.

        An incident is recorded as announced only after its alert was delivered to every channel, or
        queued in the outbox for the channels that failed. A crash before that (even right after a
        delivery) leaves the incident unrecorded, so the next run announces it again with the same dedup
        key: at-least-once, never lost."""
        earlier = self.flush_outbox()
        alerts = self.alerts_for(run, schedule)
        channels = self.config.channels(schedule.AlertTargets) if schedule.AlertTargets else []
        if alerts and not channels:
            log.warning("%d alert(s) for %s but the schedule names no alert targets", len(alerts), run.EndpointName)
        out = []
        for alert in alerts:
            out += self.deliver([alert], channels, run.EndTime)
            self._record_incident(alert)
        self._update_open_incidents(run, {a.DedupKey for a in alerts})
        return tuple(earlier + out)

    def _update_open_incidents(self, run: MonitoringRun, announced: set[str]) -> None:
        """An open incident whose monitor still finds violations is updated, not announced again: its
        violations become this run's (so the resolve and the incident file say what was last seen)."""
        with self._locked():
            incidents = self.open_incidents(run.EndpointName)
            changed = False
            for result in run.Monitors:
                key = dedup_key(run.EndpointName, result.MonitoringType)
                if key in announced or key not in incidents or not result.Violations:
                    continue
                violations = sorted({v.key for v in result.Violations})
                entry = incidents[key]
                if entry.get("violations") != violations:
                    log.info("incident %s updated: %d violation(s) now (run %s)", key, len(violations),
                             run.MonitoringRunName)
                entry.update(violations=violations, last_run=run.MonitoringRunName,
                             updated=(run.EndTime or utcnow()).isoformat())
                changed = True
            if changed:
                write_atomic(self._incidents_path(run.EndpointName), json.dumps(incidents, indent=2), durable=True)


def _same_incident(entry: dict[str, Any], channel: Channel, alert: Alert) -> bool:
    return entry.get("channel") == channel.spec() and entry.get("alert", {}).get("DedupKey") == alert.DedupKey
