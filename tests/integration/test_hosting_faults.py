"""Faults of the hosting stack as they happen for real: model servers that crash or hang, a crash
during a deployment, the control process killed in the middle of a canary, a second control process,
and data capture that must not lose a record under load or at shutdown.

Model servers here are the "echo" test algorithm (a contract server that starts in well under a second);
test_hosting.py runs the same stack with xgboost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops.cli.hosting_flags import parse_capture, parse_shadow, parse_variant
from mlops.core.errors import MlopsError
from mlops.core.files import sha256_file
from mlops.hosting.reaper import tagged_processes
from mlops.services.hosting_wiring import create_endpoint_config, create_model
from mlops.serving.capture import read_capture
from mlops.settings import Settings
from tests.integration.test_hosting_support import (
    ContinuousClient,
    Hosting,
    alive,
    echo_model,
    wait_until,
    write_echo_algorithm,
)

pytestmark = pytest.mark.integration

MODEL_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def hosting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosting]:
    root = tmp_path_factory.mktemp("hosting-faults")
    h = Hosting(root / "home", write_echo_algorithm(root / "algorithms"),
                ("--model-timeout", str(MODEL_TIMEOUT), "--health-interval", "0.3", "--ping-timeout", "1"))
    h.start()
    settings = Settings(home=h.home, algorithms_dir=root / "algorithms")  # what the CLI would do, in-process
    for name, answer in (("echo-a", "0.25"), ("echo-b", "0.75")):
        archive = echo_model(root / name, answer)  # made here, so the test vouches for its sha256
        create_model(settings, name, str(archive), algorithm="echo", model_sha256=sha256_file(archive))
    create_endpoint_config(settings, "cfg-a", [parse_variant("name=a,model=echo-a")])
    create_endpoint_config(settings, "cfg-b", [parse_variant("name=b,model=echo-b")])
    create_endpoint_config(settings, "cfg-shadow", [parse_variant("name=a,model=echo-a")],
                           [parse_shadow("name=s,model=echo-b,sampling=100")])
    create_endpoint_config(settings, "cfg-capture", [parse_variant("name=a,model=echo-a,instances=2")], [],
                           parse_capture(f"sampling=100,dest={root / 'capture'}", settings))
    yield h
    h.close()


def test_a_crashed_model_server_answers_errors_fast_then_is_replaced(hosting: Hosting) -> None:
    hosting.create_endpoint("crash", "cfg-a")
    assert hosting.invoke("crash")[0] == 200
    (pid,) = hosting.pids("crash")
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    status, headers, body = hosting.invoke("crash")
    assert time.monotonic() - started < 2.0
    assert status in (424, 503), body  # ModelError (no answer) or ServiceUnavailable (instance marked down)
    assert headers["x-amzn-errortype"] in ("ModelError", "ServiceUnavailable")
    new = wait_until(lambda: [p for p in hosting.pids("crash") if p != pid], 30, "a replacement instance")
    assert new and not alive(pid)
    wait_until(lambda: hosting.invoke("crash")[0] == 200, 10, "answers from the replacement")
    record = hosting.describe("crash")
    assert record["EndpointStatus"] == "InService"
    assert record["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    with __import__("urllib.request").request.urlopen(f"{hosting.url}/metrics") as r:
        metrics = r.read().decode()
    restarts = [ln for ln in metrics.splitlines() if ln.startswith("mlops_instance_restarts_total")]
    assert restarts and float(restarts[0].split()[-1]) >= 1


def test_a_hung_model_server_is_answered_for_within_the_timeout_then_replaced(hosting: Hosting) -> None:
    hosting.create_endpoint("hang", "cfg-a")
    (pid,) = hosting.pids("hang")
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        status, _, body = hosting.invoke("hang")
        elapsed = time.monotonic() - started
        assert elapsed < MODEL_TIMEOUT + 1.5, elapsed
        assert status in (424, 503) and (b"timed out" in body or b"no healthy instance" in body), body
        wait_until(lambda: [p for p in hosting.pids("hang") if p != pid], 30, "a replacement instance")
        wait_until(lambda: hosting.invoke("hang")[0] == 200, 10, "answers from the replacement")
        wait_until(lambda: not alive(pid), 10, "the hung server to be killed")
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGCONT)


def test_a_crash_in_the_new_fleet_during_a_canary_rolls_back(hosting: Hosting) -> None:
    hosting.create_endpoint("deploy", "cfg-a")
    with ContinuousClient(hosting.port, "deploy", pause=0.01) as client:
        hosting.cli("endpoints", "update", "deploy", "--config", "cfg-b", "--strategy", "canary", "--canary-size",
                    "50%", "--wait-interval", "30", "--no-wait")
        wait_until(lambda: hosting.describe("deploy")["Deployment"]["Phase"] == "Baking", 30, "the canary to bake")
        wait_until(lambda: client.variants["b"] > 5, 10, "traffic on the canary")
        (pid,) = hosting.pids("deploy", "b")
        os.kill(pid, signal.SIGKILL)
        record = hosting.wait_status("deploy", "InService", timeout=30)
        time.sleep(0.5)
    deployment = record["Deployment"]
    assert deployment["Status"] == "RolledBack" and record["EndpointConfigName"] == "cfg-a"
    assert "step 1" in deployment["Reason"] and "of variant b (cfg-b) failed" in deployment["Reason"]
    assert record["LastRollbackReason"] == deployment["Reason"]
    assert hosting.pids("deploy", "b") == []  # the new fleet is gone, restarted instance included
    assert hosting.invoke("deploy")[0] == 200
    # the only errors a client saw are requests that were inside or sent to the killed server
    assert len(client.errors) <= 3, client.errors


def test_a_failing_or_hung_shadow_never_touches_the_caller(hosting: Hosting) -> None:
    hosting.create_endpoint("shadowed", "cfg-shadow")
    (shadow_pid,) = hosting.pids("shadowed", "s")
    os.kill(shadow_pid, signal.SIGSTOP)  # the shadow hangs: each copy waits out the model timeout
    try:
        latencies = []
        for _ in range(100):
            started = time.monotonic()
            status, headers, body = hosting.invoke("shadowed")
            latencies.append(time.monotonic() - started)
            assert (status, body, headers["x-amzn-invoked-production-variant"]) == (200, b"0.25\n", "a")
        assert sorted(latencies)[94] < 0.5, sorted(latencies)[-5:]  # nowhere near the shadow's 2 s timeout
    finally:
        with contextlib.suppress(ProcessLookupError):  # the health checks may have replaced it already
            os.kill(shadow_pid, signal.SIGCONT)
            os.kill(shadow_pid, signal.SIGKILL)  # and now it is gone
    for _ in range(50):
        assert hosting.invoke("shadowed")[0] == 200
    with __import__("urllib.request").request.urlopen(f"{hosting.url}/metrics") as r:
        metrics = r.read().decode()
    shadow_errors = [ln for ln in metrics.splitlines()
                     if ln.startswith('mlops_invocation_5xx_errors_total{endpoint="shadowed",variant="s"')]
    dropped = [ln for ln in metrics.splitlines() if ln.startswith("mlops_shadow_dropped_total")]
    assert float(shadow_errors[0].split()[-1]) + float(dropped[0].split()[-1]) > 0  # seen, counted, not returned
    hosting.cli("endpoints", "delete", "shadowed")
    assert hosting.pids("shadowed") == []


def test_deleting_an_endpoint_while_its_servers_start_leaves_nothing_running(hosting: Hosting) -> None:
    tag = json.loads((hosting.home / "hosting" / "instances.json").read_text())["ControlTag"]
    before = set(tagged_processes(tag))
    client = hosting.client()
    client.create_endpoint("ephemeral", "cfg-capture")  # two instances, starting in the background
    client.delete("ephemeral")
    time.sleep(3)  # the starts finish in their threads, then are stopped
    wait_until(lambda: set(tagged_processes(tag)) <= before, 15, "no model server left for the deleted endpoint")
    with pytest.raises(MlopsError, match="not found"):
        client.describe("ephemeral")


async def _load(port: int, endpoint: str, total: int, connections: int) -> list[int]:
    statuses: list[int] = []
    queue = iter(range(total))
    body = b"1,2,3"
    request = (f"POST /endpoints/{endpoint}/invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/csv\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in queue:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            statuses.append(int(head[9:12]))
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


def _captured(root: Path, endpoint: str) -> tuple[int, int]:
    now = datetime.now(UTC)
    reader = read_capture(str(root / "capture"), endpoint, now - timedelta(hours=2), now + timedelta(hours=1))
    count = sum(1 for _ in reader)
    return count, reader.malformed + reader.truncated


def test_capture_at_full_sampling_loses_no_record_under_load(hosting: Hosting) -> None:
    hosting.create_endpoint("capture", "cfg-capture")
    statuses = asyncio.run(_load(hosting.port, "capture", 3000, 16))
    assert statuses.count(200) == 3000
    root = hosting.home.parent
    wait_until(lambda: _captured(root, "capture")[0] >= 3000, 15, "3000 capture records")
    count, bad = _captured(root, "capture")
    assert (count, bad) == (3000, 0)


def test_a_second_control_process_on_the_same_home_is_refused(hosting: Hosting) -> None:
    other = hosting.cli("router", "--port", "0", check=False, timeout=60)
    assert other.returncode == 2 and "another control process" in other.stderr


def test_killing_the_control_process_mid_canary_leaves_no_orphans_and_rolls_back_on_restart(hosting: Hosting) -> None:
    hosting.cli("endpoints", "update", "deploy", "--config", "cfg-b", "--strategy", "canary", "--canary-size", "50%",
                "--wait-interval", "60", "--no-wait")
    wait_until(lambda: hosting.describe("deploy")["Deployment"]["Phase"] == "Baking", 30, "the canary to bake")
    pids = hosting.pids()
    assert hosting.pids("deploy", "b") and hosting.pids("deploy", "a")
    assert hosting.stop(signal.SIGKILL) == -signal.SIGKILL
    wait_until(lambda: not any(alive(p) for p in pids), 15, "the watchdog to stop every model server")

    hosting.start()
    record = hosting.wait_status("deploy", "InService", timeout=60)
    assert record["EndpointConfigName"] == "cfg-a"
    assert record["Deployment"]["Status"] == "RolledBack"
    assert "the control process stopped during the deployment (step 1/2: canary 50%" in record["LastRollbackReason"]
    assert [v["VariantName"] for v in record["ProductionVariants"]] == ["a"]
    status, headers, body = hosting.invoke("deploy")
    assert (status, body, headers["x-amzn-invoked-production-variant"]) == (200, b"0.25\n", "a")
    for name in ("crash", "hang", "capture"):  # every other endpoint came back too
        assert hosting.wait_status(name, "InService", timeout=60)["EndpointConfigName"] in ("cfg-a", "cfg-capture")


def test_a_clean_stop_flushes_every_capture_record_and_leaves_no_orphans(hosting: Hosting) -> None:
    root = hosting.home.parent
    hosting.wait_status("capture", "InService", timeout=60)
    before, _ = _captured(root, "capture")
    statuses = asyncio.run(_load(hosting.port, "capture", 1000, 16))
    assert statuses.count(200) == 1000
    pids = hosting.pids()
    assert pids
    assert hosting.stop(signal.SIGTERM) == 0  # at once: the records may still be queued
    assert not any(alive(p) for p in pids)
    assert _captured(root, "capture") == (before + 1000, 0)
    listing = json.loads((hosting.home / "hosting" / "instances.json").read_text())
    assert listing["Instances"] == []
    described = hosting.cli("endpoints", "describe", "capture")  # no control process: the last recorded state
    assert "status:        InService" in described.stdout and "last recorded state" in described.stderr
