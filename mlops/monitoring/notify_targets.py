"""Where alerts go: ``alerting.yaml`` (under the settings home) names targets, each a list of channels.

Secrets (webhook URLs, PagerDuty routing keys) never sit in the file: it names the environment variables
that hold them, and a key that looks like a secret written in place is refused::

    retry: {attempts: 4, backoff_seconds: 1.0, give_up_after: 5}
    targets:
      oncall:
        - {type: pagerduty, routing_key_env: PAGERDUTY_ROUTING_KEY}
        - {type: slack, url_env: SLACK_WEBHOOK_URL, min_severity: warning}
      data-team:
        - {type: webhook, url_env: MLOPS_ALERT_WEBHOOK_URL}

``attempts`` HTTP tries per alert and channel in one run, with exponential backoff (network errors, 5xx,
408 and 429); what still fails waits in the outbox for the next run. A receiver that refuses an alert
(any other 4xx) or a channel whose secret is missing fails permanently: that outbox entry is dropped
after ``give_up_after`` runs tried it, and the reason is logged.

Payloads: the generic webhook gets the Alert record as JSON; Slack its incoming-webhook ``text`` and
``blocks``; PagerDuty an Events API v2 event (``routing_key``, ``event_action``, ``dedup_key``,
``payload{summary, severity, source, component, custom_details}``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from mlops.core.errors import ValidationError
from mlops.core.monitoring import Alert, EventAction, Severity

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_SECRET_KEYS = {"url", "webhook_url", "routing_key", "integration_key", "token", "secret", "password"}


class ChannelType(StrEnum):
    webhook = "webhook"
    slack = "slack"
    pagerduty = "pagerduty"


@dataclass(frozen=True)
class Channel:
    target: str
    type: ChannelType
    url_env: str | None = None  # webhook, slack: the variable holding the URL
    routing_key_env: str | None = None  # pagerduty: the variable holding the routing key
    events_url: str = PAGERDUTY_EVENTS_URL  # pagerduty: where events go (not a secret)
    min_severity: Severity = Severity.info
    timeout_seconds: float = 10.0

    @property
    def label(self) -> str:
        return f"{self.target}/{self.type.value}"

    def spec(self) -> dict[str, Any]:
        """What names this channel in the outbox (variable names only, never their values)."""
        return {
            "target": self.target,
            "type": self.type.value,
            "url_env": self.url_env,
            "routing_key_env": self.routing_key_env,
            "events_url": self.events_url,
            "min_severity": self.min_severity.value,
            "timeout_seconds": self.timeout_seconds,
        }

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Channel:
        return cls(
            target=str(spec["target"]),
            type=ChannelType(spec["type"]),
            url_env=spec.get("url_env"),
            routing_key_env=spec.get("routing_key_env"),
            events_url=str(spec.get("events_url") or PAGERDUTY_EVENTS_URL),
            min_severity=Severity(spec.get("min_severity", "info")),
            timeout_seconds=float(spec.get("timeout_seconds", 10.0)),
        )


def permanent_failure(status: int) -> bool:
    """An HTTP answer that sending the same alert again cannot change (4xx but 408 Request Timeout and
    429 Too Many Requests)."""
    return 400 <= status < 500 and status not in (408, 429)


@dataclass(frozen=True)
class AlertingConfig:
    targets: dict[str, tuple[Channel, ...]] = field(default_factory=dict)
    attempts: int = 3
    backoff_seconds: float = 1.0
    give_up_after: int = 5  # runs that tried an alert a receiver refuses, before it leaves the outbox
    path: Path | None = None  # the file this was read from, or looked for
    missing: bool = False  # no file at ``path``: no targets at all

    def channels(self, names: tuple[str, ...]) -> list[Channel]:
        unknown = [n for n in names if n not in self.targets]
        if not unknown:
            return [c for n in names for c in self.targets[n]]
        where = str(self.path) if self.path else "alerting.yaml"
        if self.missing:
            raise ValidationError(
                "alert targets",
                f"{', '.join(unknown)} named, but there is no {where}: create it (a complete example: "
                f"monitoring/alerting.example.yaml), e.g.\n{minimal_example(unknown)}",
            )
        known = ", ".join(self.targets) or "none"
        raise ValidationError("alert targets", f"unknown target(s) {', '.join(unknown)}; {where} has: {known}")


def minimal_example(targets: list[str]) -> str:
    """The smallest alerting.yaml that defines ``targets``: one generic webhook each, its URL from the environment."""
    lines = ["targets:"]
    for name in targets:
        lines += [f"  {_yaml_key(name)}:", "    - {type: webhook, url_env: MLOPS_ALERT_WEBHOOK_URL}"]
    return "\n".join(lines) + "\n"


def _yaml_key(name: str) -> str:
    """``name`` as a YAML mapping key that reads back as the same string (quoted unless plainly safe)."""
    plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name) is not None and yaml.safe_load(name) == name  # not yes/null
    return name if plain else json.dumps(name)  # a JSON string is a YAML double-quoted scalar


def _channel(target: str, item: Any, where: str) -> Channel:
    if not isinstance(item, dict):
        raise ValidationError(where, f"target {target}: each channel is a mapping with a type")
    secrets = sorted(set(item) & _SECRET_KEYS)
    if secrets:
        raise ValidationError(
            where,
            f"target {target}: {', '.join(secrets)} must not be written in the file; name the environment "
            f"variable that holds it instead (url_env: …, routing_key_env: …)",
        )
    known = {"type", "url_env", "routing_key_env", "events_url", "min_severity", "timeout_seconds"}
    extra = sorted(set(item) - known)
    if extra:
        raise ValidationError(
            where, f"target {target}: unknown key(s) {', '.join(extra)}; known: {', '.join(sorted(known))}"
        )
    try:
        kind = ChannelType(str(item.get("type")))
        severity = Severity(item.get("min_severity", "info"))
    except ValueError as e:
        raise ValidationError(where, f"target {target}: {e}") from None
    if kind is ChannelType.pagerduty and not item.get("routing_key_env"):
        raise ValidationError(where, f"target {target}: a pagerduty channel needs routing_key_env")
    if kind is not ChannelType.pagerduty and not item.get("url_env"):
        raise ValidationError(where, f"target {target}: a {kind.value} channel needs url_env")
    return Channel(
        target=target,
        type=kind,
        url_env=item.get("url_env"),
        routing_key_env=item.get("routing_key_env"),
        events_url=str(item.get("events_url") or PAGERDUTY_EVENTS_URL),
        min_severity=severity,
        timeout_seconds=float(item.get("timeout_seconds", 10.0)),
    )


def parse_alerting(document: Any, where: str) -> AlertingConfig:
    if document is None:
        return AlertingConfig()
    if not isinstance(document, dict) or not isinstance(document.get("targets", {}), dict):
        raise ValidationError(where, "expected a mapping with targets: {name: [channels]}")
    retry = document.get("retry") or {}
    if not isinstance(retry, dict):
        raise ValidationError(where, "retry: expected a mapping {attempts, backoff_seconds, give_up_after}")
    unknown = sorted(set(retry) - {"attempts", "backoff_seconds", "give_up_after"})
    if unknown:
        raise ValidationError(where, f"retry: unknown key(s) {', '.join(map(str, unknown))}; known: attempts, "
                              "backoff_seconds, give_up_after")  # fmt: skip
    targets = {}
    for name, items in (document.get("targets") or {}).items():
        items = items if isinstance(items, list) else [items]
        targets[str(name)] = tuple(_channel(str(name), item, where) for item in items)
    try:
        return AlertingConfig(
            targets=targets,
            attempts=max(1, int(retry.get("attempts", 3))),
            backoff_seconds=max(0.0, float(retry.get("backoff_seconds", 1.0))),
            give_up_after=max(1, int(retry.get("give_up_after", 5))),
        )
    except (TypeError, ValueError) as e:
        raise ValidationError(where, f"retry: {e}") from None


def load_alerting(path: Path) -> AlertingConfig:
    if not path.is_file():
        return AlertingConfig(path=path, missing=True)
    try:
        config = parse_alerting(yaml.safe_load(path.read_text()), str(path))
    except yaml.YAMLError as e:
        raise ValidationError(str(path), f"not valid YAML: {e}") from None
    return replace(config, path=path)


class MissingSecret(Exception):
    pass


def _env(name: str | None, env: Mapping[str, str], channel: Channel) -> str:
    value = env.get(name or "", "")
    if not value:
        raise MissingSecret(f"{channel.label}: environment variable {name} is not set")
    return value


def destination(channel: Channel, env: Mapping[str, str] = os.environ) -> str:
    if channel.type is ChannelType.pagerduty:
        return channel.events_url
    return _env(channel.url_env, env, channel)


def _details(alert: Alert) -> dict[str, Any]:
    return {
        "run": alert.MonitoringRunName,
        "report": alert.ReportUri,
        "violations": [v.model_dump(mode="json", exclude_none=True) for v in alert.Violations[:20]],
        "violation_count": len(alert.Violations),
    }


def payload(channel: Channel, alert: Alert, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    if channel.type is ChannelType.webhook:
        return alert.model_dump(mode="json")
    if channel.type is ChannelType.slack:
        resolved = alert.EventAction is EventAction.resolve
        icon = (
            ":white_check_mark:"
            if resolved
            else {"critical": ":rotating_light:", "error": ":red_circle:"}.get(alert.Severity.value, ":warning:")
        )
        lines = [f"{icon} *{alert.Summary}*"]
        lines += [f"• {v.description}" for v in alert.Violations[:10]]
        if len(alert.Violations) > 10:
            lines.append(f"… and {len(alert.Violations) - 10} more")
        if alert.ReportUri:
            lines.append(f"Report: {alert.ReportUri}")
        return {
            "text": f"{icon} {alert.Summary}",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
        }
    event: dict[str, Any] = {
        "routing_key": _env(channel.routing_key_env, env, channel),
        "event_action": alert.EventAction.value,
        "dedup_key": alert.DedupKey,
    }
    if alert.EventAction is EventAction.trigger:
        event["payload"] = {
            "summary": alert.Summary[:1024],
            "severity": alert.Severity.value,
            "source": alert.Source,
            "component": alert.Component,
            "group": "mlops-monitoring",
            "class": "constraint violation",
            "timestamp": alert.Timestamp.isoformat(),
            "custom_details": _details(alert),
        }
        event["client"] = "mlops monitoring"
    return event
