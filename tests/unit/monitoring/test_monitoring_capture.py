"""Reading a window of captured traffic (SageMaker's capture format) and joining ground truth: bad
input is counted and described, never a crash and never a silent drop."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops.core.errors import ValidationError
from mlops.data.formats import encode_features
from mlops.monitoring import ground_truth
from mlops.monitoring.baseline import Baseline
from mlops.monitoring.window import load_capture_window

START = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def record(
    ident: str,
    body: str,
    output: str | None,
    moment: datetime = START,
    content: str = "text/csv",
    shadow: bool = False,
    out_type: str = "application/json",
) -> str:
    data: dict[str, object] = {
        "endpointInput": {
            "observedContentType": content,
            "mode": "INPUT",
            "data": body,
            "encoding": "CSV" if content == "text/csv" else "JSON",
        }
    }
    if output is not None:
        data["endpointOutput"] = {"observedContentType": out_type, "mode": "OUTPUT", "data": output, "encoding": "JSON"}
    stamp = (moment + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    line = {
        "captureData": data,
        "eventMetadata": {"eventId": f"ev-{ident}", "inferenceId": ident, "inferenceTime": stamp},
        "eventVersion": "0",
        "mlopsMetadata": {"endpointName": "churn", "variantName": "AllTraffic", "shadow": shadow},
    }
    return json.dumps(line)


def csv_row(values: np.ndarray) -> str:
    return ",".join(f"{v:g}" for v in values)


def write(
    folder: Path, lines: list[str], name: str = "00-00-000-a.jsonl", end: str = "\n", hour: datetime = START
) -> Path:
    path = folder / "churn" / "AllTraffic" / hour.strftime("%Y/%m/%d/%H") / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + end)
    return path


@pytest.fixture
def encoded(held_out: pd.DataFrame, encoding) -> np.ndarray:  # type: ignore[no-untyped-def]
    return encode_features(held_out.iloc[:40], encoding)


def test_captured_rows_become_the_monitored_view(
    tmp_path: Path, baseline: Baseline, encoded: np.ndarray, held_out: pd.DataFrame
) -> None:
    lines = [
        record(f"r{i}", csv_row(encoded[i]), json.dumps({"predictions": [{"score": 0.1 * (i % 10)}]}))
        for i in range(30)
    ]
    batch = "\n".join(csv_row(r) for r in encoded[30:33])  # one request of three rows, answered in JSON lines
    lines.append(
        record(
            "batch",
            batch,
            "\n".join(json.dumps({"score": s}) for s in (0.2, 0.4, 0.6)),
            out_type="application/jsonlines",
        )
    )
    lines.append(
        record(
            "json",
            json.dumps({"instances": [encoded[33].tolist()]}),
            '{"predictions": [0.9]}',
            content="application/json",
        )
    )
    lines.append(record("shadow", csv_row(encoded[34]), None, shadow=True))
    write(tmp_path, lines)
    window = load_capture_window(str(tmp_path), "churn", START, END, baseline.manifest)
    assert window.rows == 34 and window.capture.Records == 33 and window.capture.MalformedLines == 0
    assert list(window.features.columns) == list(baseline.manifest.Columns)
    assert list(window.features["gender"].astype(str)) == list(held_out["gender"].iloc[:34])
    assert np.allclose(window.features["tenure_months"], held_out["tenure_months"].iloc[:34])
    assert list(window.inference_ids[30:34]) == ["batch:0", "batch:1", "batch:2", "json"]  # type: ignore[index]
    assert np.allclose(window.scores[28:34], [0.8, 0.9, 0.2, 0.4, 0.6, 0.9])  # type: ignore[index]
    assert any("1 shadow-variant records left out" in p for p in window.capture.Problems)


def test_truncated_and_malformed_lines_are_counted_and_the_rest_is_read(
    tmp_path: Path, baseline: Baseline, encoded: np.ndarray
) -> None:
    good = [record(f"r{i}", csv_row(encoded[i]), '{"predictions": [{"score": 0.5}]}') for i in range(5)]
    write(tmp_path, [good[0], "{not json", '{"captureData": {}}', good[1], good[2]], name="00-00-000-a.jsonl")
    write(tmp_path, [good[3], good[4][: len(good[4]) // 2]], name="00-01-000-b.jsonl", end="")  # still being written
    bad_payload = record("bad", "1,2,x" + ",0" * (encoded.shape[1] - 3), None)
    narrow = record("narrow", "1,2,3", None)
    write(tmp_path, [bad_payload, narrow], name="00-02-000-c.jsonl")
    window = load_capture_window(str(tmp_path), "churn", START, END, baseline.manifest)
    c = window.capture
    assert window.rows == 4 and (c.MalformedLines, c.TruncatedLines) == (2, 1)
    assert c.UndecodableRecords == 1 and c.SkippedRows == 1 and c.Files == 3
    problems = " | ".join(c.Problems)
    assert "00-00-000-a.jsonl:2" in problems and "truncated line" in problems
    assert "event bad: the request could not be read as rows" in problems
    assert f"left out rows of another width than the window's {encoded.shape[1]}: 1 rows of 3 values" in problems


def test_rows_of_the_wrong_width_show_as_missing_or_extra_columns(
    tmp_path: Path, baseline: Baseline, encoded: np.ndarray
) -> None:
    wider = np.column_stack([encoded[:10], np.ones(10)])
    write(tmp_path, [record(f"r{i}", csv_row(wider[i]), None) for i in range(10)])
    window = load_capture_window(str(tmp_path), "churn", START, END, baseline.manifest)
    extra = f"_c{encoded.shape[1]}"
    assert window.rows == 10 and extra in window.features.columns and window.scores is None
    width = encoded.shape[1]
    assert f"request rows hold {width + 1} values where the baseline expects {width}" in window.capture.Problems


def test_an_empty_window_reads_nothing(tmp_path: Path, baseline: Baseline) -> None:
    window = load_capture_window(str(tmp_path / "nothing"), "churn", START, END, baseline.manifest)
    assert window.rows == 0 and window.capture.Files == 0


def test_ground_truth_in_both_formats_joined_by_inference_id(
    tmp_path: Path, baseline: Baseline, encoded: np.ndarray
) -> None:
    lines = [record(f"r{i}", csv_row(encoded[i]), None) for i in range(4)]
    lines.append(record("batch", "\n".join(csv_row(r) for r in encoded[4:6]), None))
    write(tmp_path / "capture", lines)
    window = load_capture_window(str(tmp_path / "capture"), "churn", START, END, baseline.manifest)
    labels = "\n".join(
        [
            json.dumps({"inferenceId": "r0", "groundTruthLabel": 1}),
            json.dumps(
                {
                    "groundTruthData": {"data": "0", "encoding": "CSV"},
                    "eventMetadata": {"eventId": "r1"},
                    "eventVersion": "0",
                }
            ),
            json.dumps({"inferenceId": "r2", "groundTruthLabel": "yes"}),  # not a class
            "{broken",
            json.dumps({"inferenceId": "batch", "groundTruthLabel": [0, 1]}),
        ]
    ).encode()
    upload = ground_truth.upload(labels, str(tmp_path / "gt"), "labels.jsonl", when=START + timedelta(hours=2))
    assert upload.stored == 4 and upload.parsed.malformed == 1 and upload.uri and "/2026/11/22/05/" in upload.uri
    stored = [json.loads(line) for line in Path(upload.uri).read_text().splitlines()]
    assert stored[0] == {
        "groundTruthData": {"data": "1", "encoding": "CSV"},
        "eventMetadata": {"eventId": "r0"},
        "eventVersion": "0",
    }
    truth = ground_truth.read(str(tmp_path / "gt"), since=START)
    joined = ground_truth.join(window, truth, baseline.manifest.Encoding)
    assert np.array_equal(joined.labels, [1, 0, np.nan, np.nan, 0, 1], equal_nan=True)  # type: ignore[arg-type]
    g = joined.ground_truth
    assert g is not None and (g.Labels, g.MatchedRows, g.UnlabeledRows) == (4, 4, 2)
    assert any("1 labels are not among the classes 0, 1" in p for p in g.Problems)


def test_ground_truth_for_unknown_inference_ids_is_refused_with_a_message(tmp_path: Path) -> None:
    labels = (
        json.dumps({"inferenceId": "seen", "groundTruthLabel": 1})
        + "\n"
        + json.dumps({"inferenceId": "never", "groundTruthLabel": 0})
        + "\n"
    ).encode()
    upload = ground_truth.upload(labels, str(tmp_path), "l.jsonl", known_ids={"seen"})
    assert upload.stored == 1 and upload.unknown == ("never",)
    with pytest.raises(ValidationError, match="none of the 1 inference ids was captured .*--keep-unknown"):
        ground_truth.upload(labels.split(b"\n")[1], str(tmp_path), "l.jsonl", known_ids={"seen"})
    kept = ground_truth.upload(labels, str(tmp_path), "l.jsonl", known_ids={"seen"}, keep_unknown=True)
    assert kept.stored == 2
    with pytest.raises(ValidationError, match="no line is a ground-truth label"):
        ground_truth.upload(b'{"id": 1}\n', str(tmp_path), "bad.jsonl")


def test_a_recordio_answer_is_captured_base64_and_read_back_as_scores(
    tmp_path: Path, baseline: Baseline, encoded: np.ndarray, held_out: pd.DataFrame
) -> None:
    """The router's writer stores a binary answer as BASE64 (SageMaker's encoding field), and the monitors'
    reader decodes every answer type the servers write, so those rows reach model quality and bias."""
    from mlops.contract.payloads import encode_predictions
    from mlops.contract.recordio import encode_dense
    from mlops.core.hosting import CaptureMode, CaptureOption, DataCaptureConfig
    from mlops.serving.capture import CaptureEvent, CaptureSettings
    from mlops.serving.capture_writer import CaptureWriter

    config = DataCaptureConfig(
        InitialSamplingPercentage=100,
        DestinationS3Uri=str(tmp_path / "capture"),
        CaptureOptions=(CaptureOption(CaptureMode=CaptureMode.Input), CaptureOption(CaptureMode=CaptureMode.Output)),
    )
    settings = CaptureSettings.from_config(config)
    assert settings is not None
    when = START.timestamp() + 60
    scores = [0.125, 0.5, float("nan"), 0.875]
    answers = {  # every answer type of the servers, binary and text
        "application/x-recordio-protobuf": [{"score": s, "predicted_label": int(s > 0.5)} for s in scores[:2]],
        "application/json": [{"score": scores[2]}],  # NaN: null in JSON
        "application/jsonlines": [{"score": scores[3]}],
    }
    writer = CaptureWriter(tmp_path / "spool")
    writer.start()
    row = 0
    for i, (accept, records) in enumerate(answers.items()):
        rows = encoded[row : row + len(records)]
        row += len(records)
        body, kind = encode_predictions(records, accept)
        request = encode_dense(rows) if i == 0 else "\n".join(csv_row(r) for r in rows).encode()
        request_type = "application/x-recordio-protobuf" if i == 0 else "text/csv"
        event = CaptureEvent(settings, "churn", "AllTraffic", "cfg", when + i, f"e{i}", request, request_type,
                             body, kind, 200, 900, 40, inference_id=f"id{i}")  # fmt: skip
        assert writer.submit(event)
    writer.close()
    lines = [json.loads(line) for p in (tmp_path / "capture").rglob("*.jsonl") for line in p.read_text().splitlines()]
    binary = next(line["captureData"] for line in lines if line["eventMetadata"]["eventId"] == "e0")
    assert binary["endpointOutput"]["encoding"] == "BASE64" and binary["endpointInput"]["encoding"] == "BASE64"
    assert binary["endpointOutput"]["observedContentType"] == "application/x-recordio-protobuf"

    window = load_capture_window(str(tmp_path / "capture"), "churn", START, END, baseline.manifest)
    assert window.capture.Problems == () and window.rows == 4
    np.testing.assert_allclose(window.scores, scores)  # type: ignore[arg-type]
    assert np.allclose(window.features["tenure_months"], held_out["tenure_months"].iloc[:4])  # recordio rows too


@pytest.mark.parametrize(
    ("data", "stored_as", "out_type", "problem"),
    [
        ("!!!not base64!!!", "BASE64", "application/x-recordio-protobuf", "the answer could not be read"),
        ("AAAA", "BASE64", "application/x-recordio-protobuf", "the answer could not be read"),
        ("1,x\n", "CSV", "text/csv", "line 1 of the CSV answer is not numbers"),
        ("AAAA", "BASE64", "image/png", "answers of type 'image/png' cannot be read"),
        ('{"predictions": [{"label": 1}]}', "JSON", "application/json", "an answer without score"),
    ],
)
def test_an_unreadable_answer_is_described_and_its_row_still_read(
    tmp_path: Path, baseline: Baseline, encoded: np.ndarray, data: str, stored_as: str, out_type: str, problem: str
) -> None:
    line = json.loads(record("r0", csv_row(encoded[0]), None))
    line["captureData"]["endpointOutput"] = {"observedContentType": out_type, "mode": "OUTPUT", "data": data, "encoding": stored_as}
    write(tmp_path, [json.dumps(line)])
    window = load_capture_window(str(tmp_path), "churn", START, END, baseline.manifest)
    assert window.rows == 1 and window.scores is None
    assert any(problem in p for p in window.capture.Problems), window.capture.Problems
