"""Data capture: SageMaker's line format and partitions, written off-thread, read back typed."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlops.core.hosting import CaptureContentTypeHeader, CaptureMode, CaptureOption, DataCaptureConfig
from mlops.serving.capture import CaptureEvent, CaptureSettings, decode_payload, read_capture
from mlops.serving.capture_writer import CaptureWriter

T0 = datetime(2026, 11, 22, 3, 59, 58, 500000, tzinfo=UTC).timestamp()


def settings(dest: str, modes: tuple[str, ...] = ("Input", "Output"), header: bool = True) -> CaptureSettings:
    config = DataCaptureConfig(
        InitialSamplingPercentage=100,
        DestinationS3Uri=dest,
        CaptureOptions=tuple(CaptureOption(CaptureMode=CaptureMode(m)) for m in modes),
        CaptureContentTypeHeader=CaptureContentTypeHeader(CsvContentTypes=("text/csv",),
                                                          JsonContentTypes=("application/json",)) if header else None,
    )
    result = CaptureSettings.from_config(config)
    assert result is not None
    return result


def event(s: CaptureSettings, when: float, variant: str = "blue", body: bytes = b"1,2,3",
          input_type: str = "text/csv", output: bytes | None = b"0.5\n", **extra: object) -> CaptureEvent:
    return CaptureEvent(s, "churn", variant, "cfg1", when, f"e{when}", body, input_type, output, "text/csv", 200, 900,
                        40, **extra)  # type: ignore[arg-type]


def window() -> tuple[datetime, datetime]:
    start = datetime.fromtimestamp(T0, UTC) - timedelta(hours=1)
    return start, start + timedelta(hours=3)


def test_records_round_trip_in_sagemakers_format_and_partitions(tmp_path: Path) -> None:
    s = settings(str(tmp_path / "capture"))
    writer = CaptureWriter(tmp_path / "spool")
    writer.start()
    for i in range(4):  # crosses the 04:00 UTC hour boundary
        writer.submit(event(s, T0 + i, inference_id=f"req-{i}", custom_attributes="trace=1"))
    writer.submit(event(s, T0, variant="shadow", shadow=True, production_event_id="e1"))
    writer.close()
    files = sorted(p.relative_to(tmp_path / "capture") for p in (tmp_path / "capture").rglob("*.jsonl"))
    assert [str(p.parent) for p in files] == ["churn/blue/2026/11/22/03", "churn/blue/2026/11/22/04",
                                              "churn/shadow/2026/11/22/03"]
    assert all(len(p.name.split("-")) == 4 for p in files)  # mm-ss-mmm-id.jsonl, as SageMaker names them
    raw = json.loads((tmp_path / "capture" / files[0]).read_text().splitlines()[0])
    assert raw["captureData"]["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                                   "data": "1,2,3", "encoding": "CSV"}
    assert raw["captureData"]["endpointOutput"]["data"] == "0.5\n"
    assert raw["eventMetadata"]["inferenceTime"] == "2026-11-22T03:59:58.500Z"
    assert raw["eventMetadata"]["inferenceId"] == "req-0" and raw["eventVersion"] == "0"
    assert raw["mlopsMetadata"]["modelLatencyUs"] == 900 and raw["mlopsMetadata"]["variantName"] == "blue"

    reader = read_capture(str(tmp_path / "capture"), "churn", *window())
    records = list(reader)
    assert len(records) == 5 and (reader.malformed, reader.truncated, reader.files) == (0, 0, 3)
    shadow = [r for r in records if r.mlopsMetadata and r.mlopsMetadata.shadow]
    assert len(shadow) == 1 and shadow[0].mlopsMetadata.productionEventId == "e1"  # type: ignore[union-attr]
    only_blue = list(read_capture(str(tmp_path / "capture"), "churn", *window(), variant="blue"))
    assert len(only_blue) == 4
    narrow = read_capture(str(tmp_path / "capture"), "churn", datetime.fromtimestamp(T0 + 1, UTC),
                          datetime.fromtimestamp(T0 + 3, UTC))
    assert sorted(r.eventMetadata.inferenceId or "" for r in narrow) == ["req-1", "req-2"]


def test_encodings_follow_the_content_type_header(tmp_path: Path) -> None:
    with_header, without = settings(str(tmp_path / "a")), settings(str(tmp_path / "b"), header=False)
    writer = CaptureWriter(tmp_path / "spool")
    writer.submit(event(with_header, T0, body=b'{"instances": [[1, 2]]}', input_type="application/json"))
    writer.submit(event(with_header, T0, body=b"\x00\xff", input_type="application/x-recordio-protobuf"))
    writer.submit(event(with_header, T0, body=b"\xff\xfe", input_type="text/csv"))  # not UTF-8
    writer.submit(event(without, T0))  # SageMaker: no CaptureContentTypeHeader → base64
    writer.close()
    a = list(read_capture(str(tmp_path / "a"), "churn", *window()))
    encodings = [r.captureData.endpointInput.encoding.value for r in a]  # type: ignore[union-attr]
    assert encodings == ["JSON", "BASE64", "BASE64"]
    assert decode_payload(a[1].captureData.endpointInput.data, "BASE64") == b"\x00\xff"  # type: ignore[union-attr]
    (b,) = list(read_capture(str(tmp_path / "b"), "churn", *window()))
    assert b.captureData.endpointInput.encoding.value == "BASE64"  # type: ignore[union-attr]
    assert base64.b64decode(b.captureData.endpointInput.data) == b"1,2,3"  # type: ignore[union-attr]


def test_input_only_capture(tmp_path: Path) -> None:
    s = settings(str(tmp_path / "c"), modes=("Input",))
    writer = CaptureWriter(tmp_path / "spool")
    writer.submit(event(s, T0))
    writer.close()
    (record,) = list(read_capture(str(tmp_path / "c"), "churn", *window()))
    assert record.captureData.endpointInput is not None and record.captureData.endpointOutput is None


def test_malformed_and_truncated_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    s = settings(str(tmp_path / "capture"))
    writer = CaptureWriter(tmp_path / "spool")
    for i in range(3):
        writer.submit(event(s, T0 - 10 + i))
    writer.close()
    (path,) = list((tmp_path / "capture").rglob("*.jsonl"))
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "not json", '{"captureData": {}}', lines[1], lines[2][:40]]))
    reader = read_capture(str(tmp_path / "capture"), "churn", *window())
    assert len(list(reader)) == 2
    assert (reader.malformed, reader.truncated) == (2, 1)
    assert any("truncated" in p for p in reader.problems)
    assert list(read_capture(str(tmp_path / "nowhere"), "churn", *window())) == []


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    s = settings(str(tmp_path / "capture"))
    writer = CaptureWriter(tmp_path / "spool", max_queue=10)
    accepted = [writer.submit(event(s, T0 + i / 1000)) for i in range(15)]
    assert accepted.count(True) == 10 and writer.dropped == 5
    writer.close()
    assert writer.written == 10
    assert len(list(read_capture(str(tmp_path / "capture"), "churn", *window()))) == 10


def test_the_writer_flushes_while_running(tmp_path: Path) -> None:
    s = settings(str(tmp_path / "capture"))
    writer = CaptureWriter(tmp_path / "spool", flush_seconds=0.05)
    writer.start()
    try:
        writer.submit(event(s, time.time()))
        deadline = time.monotonic() + 5
        now = datetime.now(UTC)
        while time.monotonic() < deadline:
            found = list(read_capture(str(tmp_path / "capture"), "churn", now - timedelta(minutes=1),
                                      now + timedelta(minutes=1)))
            if found:
                break
            time.sleep(0.05)
        assert len(found) == 1
    finally:
        writer.close()


def test_s3_destinations_are_spooled_then_uploaded(tmp_path: Path) -> None:
    moto = pytest.importorskip("moto")
    import boto3

    with moto.mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="captures")
        s = settings("s3://captures/datacapture")
        writer = CaptureWriter(tmp_path / "spool")
        for i in range(3):
            writer.submit(event(s, T0 + i))
        writer.close()
        keys = sorted(o["Key"] for o in boto3.client("s3", region_name="us-east-1").list_objects_v2(
            Bucket="captures")["Contents"])
        assert [k.rsplit("/", 1)[0] for k in keys] == ["datacapture/churn/blue/2026/11/22/03",
                                                       "datacapture/churn/blue/2026/11/22/04"]
        assert not list((tmp_path / "spool").rglob("*.jsonl"))  # uploaded, then removed from the spool
        assert len(list(read_capture("s3://captures/datacapture", "churn", *window()))) == 3
