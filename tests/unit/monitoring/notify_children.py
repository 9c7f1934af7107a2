"""What the outbox tests run in processes of their own: notifiers sharing one state folder."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops.core.monitoring import Alert, EventAction, Severity
from mlops.monitoring.notify import Notifier
from mlops.monitoring.notify_targets import AlertingConfig, parse_alerting

T = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def two_webhooks(url: str) -> tuple[AlertingConfig, dict[str, str]]:
    config = parse_alerting(
        {
            "retry": {"attempts": 1, "backoff_seconds": 0},
            "targets": {"a": [{"type": "webhook", "url_env": "A_URL"}], "b": [{"type": "webhook", "url_env": "B_URL"}]},
        },
        "alerting.yaml",
    )
    return config, {"A_URL": f"{url}/a", "B_URL": f"{url}/b"}


def alert(name: str) -> Alert:
    """A trigger of an incident of its own (its run name says who sent it)."""
    return Alert(EventAction=EventAction.trigger, DedupKey=f"mlops/{name}/data-drift", Severity=Severity.error,
                 Summary=f"{name}: drift", Source=name, Component="data-drift", MonitoringRunName=name, Timestamp=T)  # fmt: skip


def outbox_worker(state_dir: str, url: str, worker: int, count: int, barrier: Any) -> None:
    """Phase 1: ``count`` alerts to the down receiver ``a`` (all queued). Phase 2, once ``a`` is up:
    alerts to the down ``b`` (queued) interleaved with flushes (``a``'s entries delivered)."""
    config, env = two_webhooks(url)
    notifier = Notifier(config, Path(state_dir), env=env, sleep=lambda s: None)
    (a,), (b,) = config.channels(("a",)), config.channels(("b",))
    for j in range(count):
        notifier.deliver([alert(f"w{worker}-a{j}")], [a])
    barrier.wait()  # everyone has queued; the test brings a up
    barrier.wait()
    for j in range(count):
        notifier.deliver([alert(f"w{worker}-b{j}")], [b])
        notifier.flush_outbox()


def pagerduty(url: str) -> tuple[AlertingConfig, dict[str, str]]:
    config = parse_alerting(
        {
            "retry": {"attempts": 1, "backoff_seconds": 0},
            "targets": {"oncall": [{"type": "pagerduty", "routing_key_env": "PD_KEY", "events_url": f"{url}/pd"}]},
        },
        "alerting.yaml",
    )
    return config, {"PD_KEY": "routing-key-123"}


def notify_then_get_killed(state_dir: str, url: str) -> None:
    """Announce one drift run; the receiver kills this process while it delivers."""
    from tests.unit.monitoring.test_monitoring_notify import SCHEDULE, run

    sys.stdin.readline()  # the test knows the pid now
    config, env = pagerduty(url)
    Notifier(config, Path(state_dir), env=env).notify(
        run("r1", ["age"]), SCHEDULE.model_copy(update={"AlertTargets": ("oncall",)})
    )
