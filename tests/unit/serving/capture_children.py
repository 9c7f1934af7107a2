"""What the capture durability tests run in a process of their own (kept light: no heavy imports)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlops.serving.capture import read_capture
from mlops.serving.capture_writer import CaptureWriter
from mlops.serving.metrics import PrometheusText, add_capture
from tests.unit.serving.test_serving_capture import event, settings


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def now_window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=2), now + timedelta(hours=2)


def full_disk_child(mount: str, good: str, spool: str) -> None:
    """Runs in a private mount namespace (see the test): a 256 KiB tmpfs at ``mount``, filled up."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mount], check=True)
    full_dest = settings(f"{mount}/capture")
    good_dest = settings(good)
    writer = CaptureWriter(Path(spool), flush_seconds=0.05)
    writer.start()
    filler = os.open(f"{mount}/filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(filler, b"x" * 4096)
    except OSError as e:
        assert e.errno == 28, e  # ENOSPC: the disk is full
    os.close(filler)
    out: dict[str, object] = {}

    def taken(n: int) -> Callable[[], bool]:
        return lambda: writer.pending == 0 and writer.written + writer.failed >= n

    now = time.time()
    for i in range(30):
        writer.submit(event(full_dest, now + i / 1000))
    out["drained"] = wait_until(taken(30))
    out["alive_after_full"] = writer._thread is not None and writer._thread.is_alive()
    out["full"] = writer.statistics_of("churn").model_dump(mode="json")

    for i in range(5):  # a good destination while the other disk is still full
        writer.submit(event(good_dest, now + i / 1000, variant="other"))
    out["good_drained"] = wait_until(taken(35))
    out["good_records"] = len(list(read_capture(good, "churn", *now_window(), variant="other")))

    os.unlink(f"{mount}/filler")  # space again: the same destination works without a restart
    for i in range(10):
        writer.submit(event(full_dest, time.time() + i / 1000, inference_id=f"after-{i}"))
    out["recovered"] = wait_until(taken(45))
    reader = read_capture(f"{mount}/capture", "churn", *now_window(), variant="blue")
    out["recovered_ids"] = sorted(r.eventMetadata.inferenceId or "" for r in reader)
    out["torn"] = [reader.malformed, reader.truncated]
    text = PrometheusText()
    add_capture(text, writer.statistics())
    out["metrics"] = text.render()
    started = time.monotonic()
    report = writer.close(timeout=10)
    out["close_seconds"] = time.monotonic() - started
    out["close_complete"] = report.complete
    out["final"] = writer.statistics_of("churn").model_dump(mode="json")
    print(json.dumps(out))


def crashed_writer_child(spool: str, dest: str, count: str) -> None:
    """Writes ``count`` records to the spool, then waits to be killed: a control process that crashed."""
    s = settings(dest)
    writer = CaptureWriter(Path(spool), flush_seconds=60)
    for i in range(int(count)):
        writer.submit(event(s, time.time() + i / 1000, inference_id=f"crash-{i}"))
    writer.flush()
    print("written", flush=True)
    time.sleep(60)
