"""On-call alerts delivered to a real HTTP receiver on 127.0.0.1: generic webhook, Slack and PagerDuty
payloads, deduplication, resolve, retries with backoff and the outbox."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlops.core.errors import ValidationError
from mlops.core.monitoring import (
    MonitoringExecutionStatus,
    MonitoringRun,
    MonitoringSchedule,
    MonitoringType,
    MonitorResult,
    Severity,
    Violation,
)
from mlops.monitoring.notify import Notifier
from mlops.monitoring.notify_targets import load_alerting, minimal_example, parse_alerting

T = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


class Receiver:
    """A tiny HTTP server: records every POST, answers ``fail`` times with 503 first."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.fail = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.requests.append((self.path, body))
                self.send_response(202 if self.path.startswith("/pd") else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def config(receiver: Receiver, attempts: int = 3) -> Any:
    return parse_alerting(
        {
            "retry": {"attempts": attempts, "backoff_seconds": 0.5},
            "targets": {
                "oncall": [
                    {"type": "pagerduty", "routing_key_env": "PD_KEY", "events_url": f"{receiver.url}/pd/v2/enqueue"},
                    {"type": "slack", "url_env": "SLACK_URL"},
                ],
                "team": [{"type": "webhook", "url_env": "HOOK_URL", "min_severity": "critical"}],
            },
        },
        "alerting.yaml",
    )


def env(receiver: Receiver) -> dict[str, str]:
    return {
        "PD_KEY": "routing-key-123",
        "SLACK_URL": f"{receiver.url}/slack/T000/B000",
        "HOOK_URL": f"{receiver.url}/hook",
    }


SCHEDULE = MonitoringSchedule.model_validate(
    {
        "MonitoringScheduleName": "churn",
        "EndpointName": "churn-endpoint",
        "BaselineName": "b",
        "ScheduleConfig": {"ScheduleExpression": "rate(1 hour)"},
        "AlertTargets": ["oncall", "team"],
        "Monitors": [{"MonitoringType": "data-drift", "Severity": "warning"}, {"MonitoringType": "data-quality"}],
    }
)


def run(name: str, drift: list[str], quality: list[str] | None = None, when: datetime = T) -> MonitoringRun:
    def result(kind: MonitoringType, features: list[str]) -> MonitorResult:
        violations = tuple(
            Violation(
                monitoring_type=kind,
                constraint_check_type="data_drift_check",
                feature_name=f,
                observed_value=0.4,
                threshold=0.1,
                description=f"Drift detected in {f!r}",
            )
            for f in features
        )
        status = (
            MonitoringExecutionStatus.CompletedWithViolations if violations else MonitoringExecutionStatus.Completed
        )
        return MonitorResult(MonitoringType=kind, MonitoringExecutionStatus=status, Violations=violations)

    return MonitoringRun(
        MonitoringRunName=name,
        EndpointName="churn-endpoint",
        BaselineName="b",
        WindowStart=when,
        WindowEnd=when + timedelta(hours=1),
        CreationTime=when,
        EndTime=when,
        MonitoringExecutionStatus=MonitoringExecutionStatus.Completed,
        ReportUri="/r/report.html",
        Monitors=(result(MonitoringType.DataDrift, drift), result(MonitoringType.DataQuality, quality or [])),
    )


def test_trigger_dedupe_and_resolve_in_every_channels_format(tmp_path: Path, receiver: Receiver) -> None:
    notifier = Notifier(config(receiver), tmp_path, env=env(receiver), sleep=lambda s: None)
    sent = notifier.notify(run("r1", ["monthly_charges"]), SCHEDULE)
    assert [(a.Channel, a.EventAction, a.Delivered) for a in sent] == [
        ("pagerduty", "trigger", True),
        ("slack", "trigger", True),
    ]
    (pd_path, pd), (slack_path, slack) = receiver.requests
    assert pd_path == "/pd/v2/enqueue" and slack_path == "/slack/T000/B000"
    assert pd["routing_key"] == "routing-key-123" and pd["event_action"] == "trigger"
    assert pd["dedup_key"] == "mlops/churn-endpoint/data-drift"
    assert pd["payload"]["severity"] == "warning" and pd["payload"]["source"] == "churn-endpoint"
    assert pd["payload"]["summary"].startswith("churn-endpoint: data-drift monitor found 1 violation(s)")
    assert pd["payload"]["custom_details"]["violations"][0]["feature_name"] == "monthly_charges"
    assert slack["text"].startswith(":warning: churn-endpoint: data-drift") and slack["blocks"][0]["type"] == "section"
    assert "Drift detected in 'monthly_charges'" in slack["blocks"][0]["text"]["text"]
    # the team webhook wants critical alerts only: nothing went there

    assert notifier.notify(run("r2", ["monthly_charges"]), SCHEDULE) == ()  # same incident: not announced again
    # more violations while the incident is open: the incident is updated, nobody is paged a second time
    assert notifier.notify(run("r3", ["monthly_charges", "age"]), SCHEDULE) == () and len(receiver.requests) == 2
    incident = notifier.open_incidents("churn-endpoint")["mlops/churn-endpoint/data-drift"]
    assert incident["violations"] == ["data-drift/data_drift_check/age", "data-drift/data_drift_check/monthly_charges"]
    assert incident["run"] == "r1" and incident["last_run"] == "r3"
    assert notifier.notify(run("r3b", ["age"]), SCHEDULE) == ()  # fewer, still open: still one incident

    resolved = notifier.notify(run("r4", []), SCHEDULE)
    assert [(a.Channel, a.EventAction) for a in resolved] == [("pagerduty", "resolve"), ("slack", "resolve")]
    pd_resolve = receiver.requests[-2][1]
    assert pd_resolve == {
        "routing_key": "routing-key-123",
        "event_action": "resolve",
        "dedup_key": "mlops/churn-endpoint/data-drift",
    }
    assert receiver.requests[-1][1]["text"].startswith(
        ":white_check_mark: churn-endpoint: data-drift monitor is clear again"
    )
    assert notifier.open_incidents("churn-endpoint") == {}


def test_the_generic_webhook_gets_the_alert_record(tmp_path: Path, receiver: Receiver) -> None:
    schedule = SCHEDULE.model_copy(
        update={
            "AlertTargets": ("team",),
            "Monitors": (SCHEDULE.Monitors[0].model_copy(update={"Severity": Severity.critical}),),
        }
    )
    Notifier(config(receiver), tmp_path, env=env(receiver)).notify(run("r1", ["age"]), schedule)
    path, body = receiver.requests[0]
    assert path == "/hook" and body["EventAction"] == "trigger" and body["Severity"] == "critical"
    assert body["DedupKey"] == "mlops/churn-endpoint/data-drift" and body["Violations"][0]["feature_name"] == "age"
    assert body["ReportUri"] == "/r/report.html" and body["MonitoringRunName"] == "r1"


def test_failures_are_retried_with_backoff_then_kept_and_resent(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    slept: list[float] = []
    schedule = SCHEDULE.model_copy(update={"AlertTargets": ("oncall",)})
    receiver.fail = 1  # the first attempt fails, the retry succeeds
    notifier = Notifier(config(receiver, attempts=3), tmp_path, env=env(receiver), sleep=slept.append)
    sent = notifier.notify(run("r1", ["age"]), schedule)
    assert all(a.Delivered for a in sent) and sent[0].Attempts == 2 and slept == [0.5]

    receiver.fail = 100  # the receiver is down for this run
    slept.clear()
    sent = notifier.notify(run("r2", ["age"], ["tenure_months"]), schedule)  # a new incident: data quality
    assert not any(a.Delivered for a in sent) and slept == [0.5, 1.0, 0.5, 1.0]
    assert all(a.Error == "HTTP 503" for a in sent)
    outbox = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert len(outbox) == 2 and outbox[0]["channel"]["routing_key_env"] == "PD_KEY"
    assert "routing-key-123" not in (tmp_path / "outbox.jsonl").read_text()  # never a secret on disk
    assert "not delivered" in caplog.text

    receiver.fail = 0  # back up: the next run sends the outbox first
    before = len(receiver.requests)
    sent = notifier.notify(run("r3", ["age"], ["tenure_months"]), schedule)
    assert [a.Delivered for a in sent] == [True, True] and len(receiver.requests) == before + 2
    assert (tmp_path / "outbox.jsonl").read_text() == ""


def test_missing_secrets_and_secrets_in_the_file(tmp_path: Path, receiver: Receiver) -> None:
    notifier = Notifier(config(receiver), tmp_path, env={}, sleep=lambda s: None)
    sent = notifier.notify(run("r1", ["age"]), SCHEDULE.model_copy(update={"AlertTargets": ("oncall",)}))
    assert [a.Error for a in sent] == [
        "oncall/pagerduty: environment variable PD_KEY is not set",
        "oncall/slack: environment variable SLACK_URL is not set",
    ]
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 2
    with pytest.raises(ValidationError, match="url must not be written in the file"):
        parse_alerting({"targets": {"x": [{"type": "slack", "url": "https://hooks.example/secret"}]}}, "a.yaml")
    with pytest.raises(ValidationError, match="needs routing_key_env"):
        parse_alerting({"targets": {"x": [{"type": "pagerduty"}]}}, "a.yaml")
    with pytest.raises(ValidationError, match="unknown target"):
        config(receiver).channels(("pager",))


def test_the_example_alerting_file_is_valid() -> None:
    import yaml

    example = Path(__file__).resolve().parents[3] / "monitoring" / "alerting.example.yaml"
    parsed = parse_alerting(yaml.safe_load(example.read_text()), str(example))
    assert [c.type.value for c in parsed.targets["oncall"]] == ["pagerduty", "slack"] and parsed.attempts == 4


def test_targets_named_without_an_alerting_file_say_where_it_goes_and_show_one(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "home" / "alerting.yaml"
    with pytest.raises(ValidationError) as refused:
        load_alerting(path).channels(("oncall",))
    message = str(refused.value)
    assert f"there is no {path}" in message and "monitoring/alerting.example.yaml" in message
    example = message.split("e.g.\n", 1)[1]
    parsed = parse_alerting(yaml.safe_load(example), "example")
    assert [(c.target, c.type.value, c.url_env) for c in parsed.channels(("oncall",))] == [
        ("oncall", "webhook", "MLOPS_ALERT_WEBHOOK_URL")
    ]


@pytest.mark.parametrize("name", ["", "on call", "a: b", "- x", "123", "yes", "#x", "null", "ö", 'q"uote', "x\ny"])
def test_the_minimal_example_reads_back_for_any_target_name(name: str) -> None:
    import yaml

    parsed = parse_alerting(yaml.safe_load(minimal_example([name, "oncall"])), "example")
    assert list(parsed.targets) == [name, "oncall"]


def test_an_unknown_target_names_the_file_that_was_read(tmp_path: Path) -> None:
    path = tmp_path / "alerting.yaml"
    path.write_text("targets:\n  data-team:\n    - {type: webhook, url_env: HOOK}\n")
    with pytest.raises(ValidationError, match=rf"unknown target\(s\) oncall; {re.escape(str(path))} has: data-team"):
        load_alerting(path).channels(("oncall",))
