"""Data capture under real failures: a full disk (a tiny tmpfs), a destination that cannot be created, a
queue capped in bytes, fsync on rotation, spool files uploaded at start-up and retried after a failed
upload (moto's S3 server over HTTP), and a close that always completes."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlops.cli.hosting import describe_text
from mlops.core.hosting import DataCaptureConfigSummary, Endpoint, EndpointStatus
from mlops.serving.capture import CAPTURE_DIR_MODE, CAPTURE_FILE_MODE, CaptureEvent, CaptureSettings, read_capture
from mlops.serving.capture_writer import EVENT_OVERHEAD_BYTES, CaptureWriter
from mlops.serving.router import EndpointRouter
from tests.conftest import make_bucket
from tests.unit.serving.capture_children import now_window, wait_until
from tests.unit.serving.test_serving_capture import event, settings

ROOT = Path(__file__).resolve().parents[3]


# --- a full disk ---------------------------------------------------------------------------------------


def test_a_full_disk_counts_failures_and_the_writer_lives_on(tmp_path: Path) -> None:
    mount, good, spool = tmp_path / "small-disk", tmp_path / "good", tmp_path / "spool"
    mount.mkdir()
    code = (
        "import sys; from tests.unit.serving.capture_children import full_disk_child; "
        "full_disk_child(*sys.argv[1:])"
    )
    # A user and mount namespace of its own: the tmpfs needs no root and no one else sees it.
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-c", code, str(mount), str(good),
         str(spool)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    full = out["full"]
    assert out["drained"] and out["alive_after_full"]
    assert (full["WrittenRecords"], full["FailedRecords"]) == (0, 30)  # nothing counted as written
    assert "No space left on device" in full["LastError"] and full["LastErrorTime"]
    assert out["good_drained"] and out["good_records"] == 5
    assert out["recovered"] and out["recovered_ids"] == [f"after-{i}" for i in range(10)]
    assert out["torn"] == [0, 0]  # no half-written line was left behind
    assert 'mlops_capture_failed_total{endpoint="churn"} 30' in out["metrics"]
    assert 'mlops_capture_records_total{endpoint="churn"} 15' in out["metrics"]  # 5 good + 10 after
    assert 'mlops_capture_queue_bytes{endpoint="churn"} 0' in out["metrics"]
    assert out["close_complete"] and out["close_seconds"] < 10
    assert (out["final"]["WrittenRecords"], out["final"]["FailedRecords"]) == (15, 30)
    assert "No space left on device" in done.stderr  # logged, once


def test_a_destination_that_cannot_be_created_fails_its_records_only(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the capture folder should be")
    broken = settings(str(tmp_path / "not-a-folder" / "capture"))
    good = settings(str(tmp_path / "capture"))
    writer = CaptureWriter(tmp_path / "spool", flush_seconds=0.05)
    router = EndpointRouter(writer)
    writer.start()
    for i in range(4):
        writer.submit(event(broken, time.time()))
        writer.submit(CaptureEvent(good, "fraud", "blue", "cfg1", time.time(), f"f{i}", b"1,2", "text/csv", None,
                                   "text/csv", 200, 1, 1))  # fmt: skip
    assert wait_until(lambda: writer.written + writer.failed == 8)
    stats = writer.statistics()
    assert (stats["churn"].FailedRecords, stats["churn"].WrittenRecords) == (4, 0)
    assert stats["churn"].LastError and "Not a directory" in stats["churn"].LastError
    assert (stats["fraud"].FailedRecords, stats["fraud"].WrittenRecords) == (0, 4)
    text = router.prometheus()
    assert 'mlops_capture_failed_total{endpoint="churn"} 4' in text
    assert 'mlops_capture_records_total{endpoint="fraud"} 4' in text
    assert 'mlops_capture_dropped_total{endpoint="fraud"} 0' in text
    report = writer.close()
    assert report.complete and report.written == 4

    # DescribeEndpoint carries the counts; `mlops endpoints describe` shows them
    summary = DataCaptureConfigSummary(EnableCapture=True, CaptureStatus="Started", CurrentSamplingPercentage=100,
                                       DestinationS3Uri=broken.dest, CaptureStatistics=writer.statistics_of("churn"))
    endpoint = Endpoint(EndpointName="churn", EndpointArn="arn", EndpointConfigName="cfg1",
                        EndpointStatus=EndpointStatus.InService, CreationTime=datetime.now(UTC),
                        LastModifiedTime=datetime.now(UTC), DataCaptureConfig=summary)
    text = describe_text(endpoint)
    assert "  records:     0 written, 4 failed, 0 dropped, 0 queued (0 bytes)" in text
    assert "  last error:  " in text and "Not a directory" in text


# --- the queue's byte cap --------------------------------------------------------------------------------


def test_the_queue_is_capped_in_bytes_and_drops_the_newest(tmp_path: Path) -> None:
    s = settings(str(tmp_path / "capture"))
    body, answer = b"7" * 6_000_000, b"0.5\n"  # InvokeEndpoint's largest request
    size = len(body) + len(answer) + EVENT_OVERHEAD_BYTES
    writer = CaptureWriter(tmp_path / "spool", max_queue_bytes=16 << 20)  # no thread yet: nothing drains
    started = time.perf_counter()
    accepted = [writer.submit(event(s, time.time() + i / 1000, body=body, inference_id=f"r{i}")) for i in range(6)]
    assert time.perf_counter() - started < 0.1  # dropping never waits
    assert accepted == [True, True, False, False, False, False]  # 2 x 6 MB fit in 16 MiB, a third does not
    stats = writer.statistics_of("churn")
    assert (stats.DroppedRecords, stats.QueuedRecords, stats.QueuedBytes) == (4, 2, 2 * size)
    writer.start()
    assert wait_until(lambda: writer.written == 2)
    assert writer.statistics_of("churn").QueuedBytes == 0
    assert writer.submit(event(s, time.time(), body=body, inference_id="later"))  # room again once written
    writer.close()
    records = list(read_capture(str(tmp_path / "capture"), "churn", *now_window()))
    assert sorted(r.eventMetadata.inferenceId or "" for r in records) == ["later", "r0", "r1"]
    assert all(len(r.captureData.endpointInput.data) == 6_000_000 for r in records)  # type: ignore[union-attr]
    assert writer.statistics_of("churn").DroppedRecords == 4


# --- fsync on rotation ------------------------------------------------------------------------------------


def test_files_and_folders_are_fsynced_on_rotation_and_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:  # the real fsync, and which file or folder it was
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    s = settings(str(tmp_path / "capture"))
    writer = CaptureWriter(tmp_path / "spool")
    t0 = datetime(2026, 11, 22, 3, 59, 59, tzinfo=UTC).timestamp()
    writer.submit(event(s, t0))
    writer.flush()
    (first,) = (tmp_path / "capture").rglob("*.jsonl")
    assert str(first) not in synced  # still open: written, not yet rotated
    writer.submit(event(s, t0 + 2))  # 04:00:01: the hour changed, the 03 file rotates
    writer.flush()
    assert str(first) in synced and str(first.parent) in synced
    assert synced.index(str(first)) < synced.index(str(first.parent))  # the file, then its folder entry
    (second,) = set((tmp_path / "capture").rglob("*.jsonl")) - {first}
    assert str(second) not in synced
    writer.close()
    assert str(second) in synced and str(second.parent) in synced
    assert stat.S_IMODE(first.stat().st_mode) == CAPTURE_FILE_MODE
    assert stat.S_IMODE(first.parent.stat().st_mode) == CAPTURE_DIR_MODE
    assert stat.S_IMODE((tmp_path / "capture" / "churn").stat().st_mode) == CAPTURE_DIR_MODE


# --- the s3:// spool -----------------------------------------------------------------------------------------


@pytest.fixture
def bucket_name(s3_endpoint: str) -> str:
    return f"capture-{uuid.uuid4().hex[:12]}"


def objects(endpoint: str, bucket: str) -> list[str]:
    import boto3

    listed = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_a_spool_left_by_a_crash_is_uploaded_at_start_up(tmp_path: Path, s3_endpoint: str, bucket_name: str) -> None:
    make_bucket(s3_endpoint, bucket_name)
    spool, dest = tmp_path / "spool", f"s3://{bucket_name}/datacapture"
    code = (
        "import sys; from tests.unit.serving.capture_children import crashed_writer_child; "
        "crashed_writer_child(*sys.argv[1:])"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(spool), dest, "7"], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "written"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    (left,) = spool.rglob("*.jsonl")
    with open(left, "ab") as f:
        f.write(b'{"captureData": {"endpointInput": {"da')  # a line torn by the crash
    assert objects(s3_endpoint, bucket_name) == []

    writer = CaptureWriter(spool, s3_endpoint_url=s3_endpoint)
    writer.start()
    try:
        assert wait_until(lambda: not list(spool.rglob("*.jsonl")), 20), "the spool was not uploaded"
        (key,) = objects(s3_endpoint, bucket_name)
        assert f"s3://{bucket_name}/{key}" == "s3://" + left.relative_to(spool).as_posix()
        reader = read_capture(dest, "churn", *now_window(), s3_endpoint_url=s3_endpoint)
        assert sorted(r.eventMetadata.inferenceId or "" for r in reader) == [f"crash-{i}" for i in range(7)]
        assert (reader.malformed, reader.truncated) == (0, 0)  # the torn line was cut off before the upload
        assert writer.statistics_of("churn").PendingUploads == 0
    finally:
        assert writer.close(timeout=20).complete


def test_a_failed_upload_stays_in_the_spool_and_is_retried(tmp_path: Path, s3_endpoint: str, bucket_name: str) -> None:
    spool, dest = tmp_path / "spool", f"s3://{bucket_name}/datacapture"
    s: CaptureSettings = settings(dest)
    writer = CaptureWriter(spool, flush_seconds=0.05, rotate_seconds=0, s3_endpoint_url=s3_endpoint,
                           upload_retry_seconds=0.2)  # fmt: skip
    writer.start()
    try:
        for i in range(3):
            writer.submit(event(s, time.time(), inference_id=f"r{i}"))
        # the bucket does not exist yet: every upload fails, and the file waits in the spool
        assert wait_until(lambda: writer.statistics_of("churn").FailedUploads >= 2)
        stats = writer.statistics_of("churn")
        assert stats.PendingUploads >= 1 and "NoSuchBucket" in (stats.LastError or "")
        assert len(list(spool.rglob("*.jsonl"))) == stats.PendingUploads
        assert stats.WrittenRecords == 3 and stats.FailedRecords == 0  # records are safe in the spool
        make_bucket(s3_endpoint, bucket_name)
        assert wait_until(lambda: writer.statistics_of("churn").PendingUploads == 0, 20)
        assert not list(spool.rglob("*.jsonl"))
        reader = read_capture(dest, "churn", *now_window(), s3_endpoint_url=s3_endpoint)
        assert sorted(r.eventMetadata.inferenceId or "" for r in reader) == ["r0", "r1", "r2"]
    finally:
        assert writer.close(timeout=20).complete


def test_close_never_raises_and_reports_what_stays_in_the_spool(tmp_path: Path, s3_endpoint: str) -> None:
    spool = tmp_path / "spool"
    writer = CaptureWriter(spool, s3_endpoint_url=s3_endpoint)
    writer.submit(event(settings("s3://no-such-bucket-anywhere/capture"), time.time()))
    started = time.monotonic()
    report = writer.close(timeout=15)
    assert time.monotonic() - started < 15
    assert not report.complete and report.written == 1 and report.unwritten == 0
    assert [p.name for p in report.left_in_spool] == [p.name for p in spool.rglob("*.jsonl")]  # kept for next start
