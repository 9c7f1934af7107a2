"""The alert outbox under concurrency and failure, against a real HTTP receiver on 127.0.0.1: several
processes share one outbox, a receiver refuses (400) or fails (500) and recovers, a process is killed
between delivering an alert and recording it."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlops.core.errors import ValidationError
from mlops.monitoring.notify import Notifier
from mlops.monitoring.notify_targets import parse_alerting
from tests.unit.monitoring.notify_children import alert, outbox_worker, pagerduty, two_webhooks
from tests.unit.monitoring.test_monitoring_notify import SCHEDULE, run

ROOT = Path(__file__).resolve().parents[3]


class Receiver:
    """Records every POST (path, body, the status it answered); ``status(path)`` decides the answer,
    ``on_request(path, body)`` runs before answering."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], int]] = []
        self.status: Callable[[str], int] = lambda path: 200
        self.on_request: Callable[[str, dict[str, Any]], None] = lambda path, body: None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.on_request(self.path, body)
                with receiver.lock:
                    status = receiver.status(self.path)
                    receiver.requests.append((self.path, body, status))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"invalid payload: missing field" if status == 400 else b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def delivered(self) -> Counter[str]:
        return Counter(body["MonitoringRunName"] for _, body, status in self.requests if status < 300)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def webhook(receiver: Receiver, **retry: object) -> tuple[Any, dict[str, str]]:
    config = parse_alerting(
        {"retry": {"attempts": 1, "backoff_seconds": 0.5, **retry},
         "targets": {"hook": [{"type": "webhook", "url_env": "HOOK_URL"}]}},
        "alerting.yaml",
    )  # fmt: skip
    return config, {"HOOK_URL": f"{receiver.url}/hook"}


def test_several_processes_share_one_outbox_and_lose_or_repeat_nothing(tmp_path: Path, receiver: Receiver) -> None:
    workers, count = 4, 8
    down = {"/a", "/b"}
    receiver.status = lambda path: 503 if path in down else 200
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    processes = [context.Process(target=outbox_worker, args=(str(tmp_path), receiver.url, w, count, barrier))
                 for w in range(workers)]  # fmt: skip
    for p in processes:
        p.start()
    barrier.wait(timeout=120)
    down.discard("/a")
    barrier.wait(timeout=60)
    for p in processes:
        p.join(timeout=120)
        assert p.exitcode == 0
    down.clear()
    config, env = two_webhooks(receiver.url)
    notifier = Notifier(config, tmp_path, env=env)
    notifier.flush_outbox()
    expected = Counter(f"w{w}-{c}{j}" for w in range(workers) for c in "ab" for j in range(count))
    assert receiver.delivered() == expected  # every alert exactly once
    assert notifier.outbox() == []


def test_a_refused_alert_is_dropped_after_n_tries_with_its_reason_logged(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.status = lambda path: 400
    config, env = webhook(receiver, attempts=3, give_up_after=3)
    notifier = Notifier(config, tmp_path, env=env, sleep=lambda s: None)
    (hook,) = config.channels(("hook",))
    (sent,) = notifier.deliver([alert("refused")], [hook])
    assert not sent.Delivered and sent.Attempts == 1  # a 400 is not retried within the run
    assert len(notifier.outbox()) == 1
    caplog.set_level(logging.INFO, "mlops.monitoring.notify")
    notifier.flush_outbox()  # try 2
    assert len(notifier.outbox()) == 1
    notifier.flush_outbox()  # try 3: dropped
    assert notifier.outbox() == []
    assert len(receiver.requests) == 3
    assert notifier.flush_outbox() == [] and len(receiver.requests) == 3  # never sent again
    (dropped,) = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped.levelno == logging.ERROR
    assert "mlops/refused/data-drift" in dropped.getMessage() and "after 3 tries" in dropped.getMessage()
    assert "HTTP 400: invalid payload: missing field" in dropped.getMessage()


def test_a_failing_receiver_that_recovers_gets_the_alert_once(tmp_path: Path, receiver: Receiver) -> None:
    answers = iter([500] * 6 + [408])
    receiver.status = lambda path: next(answers, 200)
    slept: list[float] = []
    config, env = webhook(receiver, attempts=2, give_up_after=2)
    notifier = Notifier(config, tmp_path, env=env, sleep=slept.append)
    (hook,) = config.channels(("hook",))
    (sent,) = notifier.deliver([alert("flaky")], [hook])
    assert not sent.Delivered and sent.Error == "HTTP 500: ok" and slept == [0.5]  # retried with backoff
    for _ in range(2):  # failing longer than give_up_after: a 5xx is never given up on
        (again,) = notifier.flush_outbox()
        assert not again.Delivered and len(notifier.outbox()) == 1
    (late,) = notifier.flush_outbox()  # a 408 is retried at once too, and then it is delivered
    assert late.Delivered and late.Attempts == 2
    assert notifier.outbox() == [] and notifier.flush_outbox() == []
    assert receiver.delivered() == Counter({"flaky": 1})
    assert [status for _, _, status in receiver.requests] == [500] * 6 + [408, 200]

    answers = iter([429])  # too many requests: retried, not refused
    (busy,) = notifier.deliver([alert("busy")], [hook])
    assert busy.Delivered and busy.Attempts == 2 and notifier.outbox() == []


def test_a_crash_between_delivery_and_record_re_sends_with_the_same_dedup_key(
    tmp_path: Path, receiver: Receiver
) -> None:
    code = "from tests.unit.monitoring.notify_children import notify_then_get_killed as f; import sys; f(*sys.argv[1:])"
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), receiver.url], cwd=ROOT,
                             stdin=subprocess.PIPE, text=True)  # fmt: skip
    killed = threading.Event()

    def kill_the_sender(path: str, body: dict[str, Any]) -> None:
        if not killed.is_set():  # delivered: the receiver has it; the sender dies before it hears so
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            killed.set()

    receiver.on_request = kill_the_sender
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.wait(60) == -signal.SIGKILL and killed.wait(10)
    (_, first, _), = receiver.requests
    assert first["event_action"] == "trigger"

    config, env = pagerduty(receiver.url)
    notifier = Notifier(config, tmp_path, env=env)
    schedule = SCHEDULE.model_copy(update={"AlertTargets": ("oncall",)})
    (again,) = notifier.notify(run("r2", ["age"]), schedule)  # the same violations: announced again
    assert again.Delivered
    second = receiver.requests[-1][1]
    assert second["dedup_key"] == first["dedup_key"] == "mlops/churn-endpoint/data-drift"
    assert second["event_action"] == "trigger"
    assert notifier.notify(run("r3", ["age"]), schedule) == ()  # recorded now: not announced a third time
    assert len(receiver.requests) == 2


def test_retry_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="unknown key"):
        parse_alerting({"retry": {"give_up_afer": 3}, "targets": {}}, "alerting.yaml")
    with pytest.raises(ValidationError, match="retry: invalid literal"):
        parse_alerting({"retry": {"give_up_after": "often"}, "targets": {}}, "alerting.yaml")
    assert parse_alerting({"targets": {}}, "alerting.yaml").give_up_after == 5
