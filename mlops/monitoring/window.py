"""A window of captured traffic as the monitors read it: the monitored view of the request rows, the
model's scores, the inference ids (for ground truth) and an account of everything that could not be
read, which the run record carries (never a crash, never a silent drop).

Capture files are read with ``mlops.serving.capture.read_capture`` (SageMaker's capture format,
partitioned by hour); request payloads are decoded with the serving contract's own codec
(``decode_features``: CSV, JSON, JSON lines, RecordIO-protobuf, libsvm), so the monitors see exactly
what the model saw. Shadow variants' records are left out unless a variant is named.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from mlops.contract.csv_format import exact_rows, number, pandas_can_parse
from mlops.contract.errors import ChannelDataError
from mlops.core.hosting import CapturedPayload
from mlops.core.monitoring import CapturedColumns, CaptureSummary, GroundTruthSummary, MonitoringBaseline
from mlops.monitoring.features import frame_from_matrix, monitor_frame
from mlops.serving.capture import decode_payload, read_capture

MAX_PROBLEMS = 20


@dataclass
class WindowData:
    start: datetime
    end: datetime
    features: pd.DataFrame  # the monitored view, one row per captured request row
    scores: np.ndarray | None = None  # (rows,) or (rows, classes); NaN where no answer was captured
    inference_ids: np.ndarray | None = None  # object array, one id per row
    labels: np.ndarray | None = None  # ground truth (class index or value), NaN where unknown
    capture: CaptureSummary = field(default_factory=CaptureSummary)
    ground_truth: GroundTruthSummary | None = None
    unparsable: dict[str, int] = field(default_factory=dict)  # raw captures: values that are not numbers

    @property
    def rows(self) -> int:
        return len(self.features)

    def with_labels(self, labels: np.ndarray, summary: GroundTruthSummary) -> WindowData:
        return replace(self, labels=labels, ground_truth=summary)


def _content_type(payload: CapturedPayload) -> str:
    if payload.observedContentType:
        return payload.observedContentType
    return "application/json" if payload.encoding.value == "JSON" else "text/csv"


def _score_value(value: Any) -> float:
    return float("nan") if value is None else float(value)  # JSON's null: a score that was not a number


def _score_item(item: Any) -> float | list[float]:
    if isinstance(item, dict):
        for key in ("score", "scores", "predicted_label", "prediction"):
            if key in item:
                return _score_item(item[key])
        raise ValueError(f"an answer without score or predicted_label: {str(item)[:80]}")
    if isinstance(item, list):
        return [_score_value(v) for v in item] if len(item) != 1 else _score_value(item[0])
    return _score_value(item)


_SINGLE_SCORE = re.compile(r'^\{"predictions":\s*\[\{"score":\s*(-?[0-9.eE+-]+)\}\]\}\s*$')


def output_scores(payload: CapturedPayload) -> list[float | list[float]]:
    """The model's answer per row, in every type the servers answer (``payloads.decode_predictions``):
    {"predictions": [...]}, JSON lines, CSV lines, RecordIO-protobuf label maps (captured as BASE64)."""
    from mlops.contract.payloads import decode_predictions

    if payload.encoding.value == "JSON":  # the built-in servers' answer to one row, without a JSON parser
        single = _SINGLE_SCORE.match(payload.data)
        if single:
            return [float(single.group(1))]
    body = decode_payload(payload.data, payload.encoding.value)
    return [_score_item(item) for item in decode_predictions(body, _content_type(payload))]


def _raw_cells(instance: Any) -> list[str]:
    """One JSON instance's raw values as text (raw captures may hold strings: categories before encoding),
    in SageMaker's shapes: a list, {"features": [...]}, {"data": {"features": ...}}, {"values": [...]}."""
    if isinstance(instance, dict):
        holder = instance["data"] if "features" not in instance and isinstance(instance.get("data"), dict) else instance
        instance = holder.get("features", holder)
    if isinstance(instance, dict) and "values" in instance:
        if instance.get("keys"):
            raise ValueError("a sparse instance (with keys) needs a baseline of encoded columns")
        instance = instance["values"]
    cells = list(instance.values()) if isinstance(instance, dict) else instance
    if not isinstance(cells, list):
        raise ValueError(f"an instance must be a list of values, found {type(instance).__name__}")
    return ["" if v is None else str(v) for v in cells]


def _defused(cell: str) -> str:
    """A raw cell pandas must not convert (pd.to_numeric would crash on it) as the number it is, or missing."""
    if pandas_can_parse(cell):
        return cell
    try:
        return repr(number(cell))
    except ValueError:
        return ""


def _raw_rows(payload: CapturedPayload) -> list[list[str]]:
    from mlops.contract.payloads import CSV, JSON, JSONLINES, media_type

    kind = media_type(_content_type(payload))
    if kind not in (CSV, JSON, JSONLINES):  # RecordIO-protobuf, libsvm: numbers only, as the model read them
        return [["" if np.isnan(v) else repr(float(v)) for v in row] for row in _decode(payload)]
    text = decode_payload(payload.data, payload.encoding.value).decode("utf-8")
    rows = _raw_text_rows(text, kind)
    if not pandas_can_parse(text):
        rows = [[_defused(cell) for cell in row] for row in rows]
    return rows


def _raw_text_rows(text: str, kind: str) -> list[list[str]]:
    from mlops.contract.payloads import JSON, JSONLINES

    if kind == JSONLINES:
        return [_raw_cells(json.loads(line)) for line in text.splitlines() if line.strip()]
    if kind == JSON:
        document = json.loads(text)
        rows = document.get("instances", [document]) if isinstance(document, dict) else document
        if rows and not isinstance(rows[0], list | dict):
            rows = [rows]
        return [_raw_cells(row) for row in rows]
    return [row for row in csv.reader(io.StringIO(text)) if row]


@dataclass(frozen=True)
class _CsvRows:
    """Plain CSV lines of one request, parsed later together with every other request's."""

    lines: list[str]
    width: int

    def __len__(self) -> int:
        return len(self.lines)


def _decode(payload: CapturedPayload) -> np.ndarray:
    from mlops.contract.payloads import decode_features

    matrix = decode_features(decode_payload(payload.data, payload.encoding.value), _content_type(payload))
    if not isinstance(matrix, np.ndarray):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=np.float64)


def _encoded_rows(payload: CapturedPayload) -> np.ndarray | _CsvRows:
    kind = _content_type(payload).split(";")[0].strip().lower()
    if payload.encoding.value == "CSV" and kind in ("text/csv", "csv") and '"' not in payload.data:
        lines = [line for line in payload.data.splitlines() if line.strip()]
        widths = {line.count(",") + 1 for line in lines}
        if len(widths) == 1:
            return _CsvRows(lines, widths.pop())
    return _decode(payload)


def _parse_csv(blocks: list[_CsvRows], width: int) -> np.ndarray | None:
    """All the blocks' lines as one float matrix, or None when some cell is not a number."""
    if not blocks:
        return np.zeros((0, width))
    text = "\n".join(line for block in blocks for line in block.lines)
    if not pandas_can_parse(text):  # read block by block, the hostile ones by the exact reader
        return None
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=np.float64, engine="c", names=range(width))
    except (ValueError, pd.errors.ParserError):
        return None
    return np.asarray(frame.to_numpy(dtype=np.float64))


@dataclass
class _Collected:
    blocks: list[Any] = field(default_factory=list)  # ndarray / _CsvRows (encoded) or list of rows (raw)
    widths: list[int] = field(default_factory=list)
    ids: list[list[str]] = field(default_factory=list)
    scores: list[list[float | list[float]] | None] = field(default_factory=list)
    undecodable: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def _scores_array(per_row: list[float | list[float] | None]) -> np.ndarray | None:
    if not per_row or all(s is None for s in per_row):
        return None
    if all(not isinstance(s, list) for s in per_row):
        return np.array(per_row, dtype=np.float64)  # None becomes NaN
    width = max((len(s) if isinstance(s, list) else 1) for s in per_row if s is not None)
    out = np.full((len(per_row), width), np.nan)
    for i, s in enumerate(per_row):
        if s is None:
            continue
        values = s if isinstance(s, list) else [s]
        if len(values) == width:
            out[i] = values
    return out[:, 0] if width == 1 else out


def load_capture_window(
    dest: str,
    endpoint: str,
    start: datetime,
    end: datetime,
    baseline: MonitoringBaseline,
    variant: str | None = None,
    s3_endpoint_url: str | None = None,
) -> WindowData:
    reader = read_capture(dest, endpoint, start, end, variant, s3_endpoint_url)
    got = _Collected()
    encoded = baseline.CapturedColumns is CapturedColumns.encoded
    shadows = 0
    for record in reader:
        meta = record.mlopsMetadata
        if variant is None and meta is not None and meta.shadow:
            shadows += 1
            continue
        ident = record.eventMetadata.inferenceId or record.eventMetadata.eventId
        payload = record.captureData.endpointInput
        if payload is None:
            got.undecodable += 1
            got.note(f"event {ident}: no endpointInput (is the capture mode Output only?)")
            continue
        try:
            rows: Any = _encoded_rows(payload) if encoded else _raw_rows(payload)
        except Exception as e:  # a payload the model would have refused too: counted, not fatal
            got.undecodable += 1
            got.note(f"event {ident}: the request could not be read as rows: {str(e)[:160]}")
            continue
        n = len(rows)
        answers: list[float | list[float]] | None = None
        if record.captureData.endpointOutput is not None:
            try:
                answers = output_scores(record.captureData.endpointOutput)
            except Exception as e:
                got.note(f"event {ident}: the answer could not be read: {str(e)[:160]}")
            if answers is not None and len(answers) != n:
                got.note(f"event {ident}: {n} request rows but {len(answers)} answers; answers left out")
                answers = None
        if isinstance(rows, _CsvRows):
            widths = {rows.width}
        else:
            widths = {rows.shape[1]} if encoded else {len(r) for r in rows}
        if len(widths) != 1 or n == 0:
            got.undecodable += 1
            got.note(f"event {ident}: rows of different widths in one request" if n else f"event {ident}: no rows")
            continue
        got.blocks.append(rows)
        got.widths.append(widths.pop())
        got.ids.append([ident] if n == 1 else [f"{ident}:{i}" for i in range(n)])
        got.scores.append(answers)
    return _assemble(got, reader, start, end, baseline, encoded, shadows)


def _encoded_matrix(got: _Collected, keep: list[int], width: int) -> tuple[np.ndarray, list[int]]:
    """The kept blocks' rows in order (CSV parsed in one go); blocks that turn out unreadable drop out."""
    csv_blocks = [i for i in keep if isinstance(got.blocks[i], _CsvRows)]
    parsed = _parse_csv([got.blocks[i] for i in csv_blocks], width)
    if parsed is None:  # some cell is not a number: find the requests one by one, as the model would
        for i in csv_blocks:
            text = "\n".join(got.blocks[i].lines)
            try:
                if pandas_can_parse(text):
                    rows = np.asarray(pd.read_csv(io.StringIO(text), header=None, dtype=np.float64))
                else:
                    rows = exact_rows(text.encode(), "capture", got.ids[i][0], width, np.float64)
                got.blocks[i] = rows.reshape(len(got.blocks[i]), width)
            except (ValueError, pd.errors.ParserError, ChannelDataError) as e:
                got.blocks[i] = None
                got.undecodable += 1
                got.note(f"event {got.ids[i][0]}: the request could not be read as rows: {str(e)[:160]}")
        keep = [i for i in keep if got.blocks[i] is not None]
        csv_blocks, parsed = [], np.zeros((0, width))
    arrays = [got.blocks[i] for i in keep if not isinstance(got.blocks[i], _CsvRows)]
    other = np.vstack(arrays) if arrays else np.zeros((0, width))
    sizes = np.array([len(got.blocks[i]) for i in keep], dtype=np.int64)
    from_csv = np.array([isinstance(got.blocks[i], _CsvRows) for i in keep], dtype=bool)
    source = np.repeat(from_csv, sizes)
    out = np.empty((int(sizes.sum()), width), dtype=np.float64)
    out[source] = parsed
    out[~source] = other
    return out, keep


def _assemble(
    got: _Collected,
    reader: Any,
    start: datetime,
    end: datetime,
    baseline: MonitoringBaseline,
    encoded: bool,
    shadows: int,
) -> WindowData:
    expected = len(baseline.Encoding.Features) if encoded else len(baseline.Columns)
    rows_by_width: Counter[int] = Counter()
    for block, width in zip(got.blocks, got.widths, strict=True):
        rows_by_width[width] += len(block)
    width = max(rows_by_width, key=lambda w: (rows_by_width[w], w == expected)) if rows_by_width else expected
    if rows_by_width and width != expected:
        got.note(f"request rows hold {width} values where the baseline expects {expected}")
    skipped = sum(c for w, c in rows_by_width.items() if w != width)
    if skipped:
        others = ", ".join(f"{c} rows of {w} values" for w, c in sorted(rows_by_width.items()) if w != width)
        got.note(f"left out rows of another width than the window's {width}: {others}")
    keep = [i for i, w in enumerate(got.widths) if w == width]
    unparsable: dict[str, int] = {}
    if encoded:
        matrix, keep = _encoded_matrix(got, keep, width)
        features = frame_from_matrix(matrix, baseline.Encoding)
    else:
        names = [*baseline.Columns[:width], *[f"_c{j}" for j in range(len(baseline.Columns), width)]]
        raw = pd.DataFrame([r for i in keep for r in got.blocks[i]], columns=names)
        present = [c for c in baseline.Columns if c in raw.columns]
        cells = raw[present].replace("", np.nan)
        complete = len(present) == len(baseline.Columns)
        typed = monitor_frame(cells, baseline.Encoding, where="captured rows") if complete else cells
        for c in present:
            if c in typed.columns and not isinstance(typed[c].dtype, pd.CategoricalDtype):
                unparsable[c] = int((typed[c].isna() & cells[c].notna()).sum())
        features = pd.concat([typed, raw[[c for c in names if c.startswith("_c")]]], axis=1)
    ids = np.array([x for i in keep for x in got.ids[i]], dtype=object)
    per_row: list[float | list[float] | None] = []
    for i in keep:
        answers = got.scores[i]
        per_row.extend(answers if answers is not None else [None] * len(got.ids[i]))
    if shadows:
        got.note(f"{shadows} shadow-variant records left out (name the variant to monitor a shadow)")
    summary = CaptureSummary(
        Files=reader.files,
        Records=reader.records,
        Rows=len(ids),
        MalformedLines=reader.malformed,
        TruncatedLines=reader.truncated,
        UndecodableRecords=got.undecodable,
        SkippedRows=skipped,
        Problems=tuple(list(reader.problems) + got.problems)[: 2 * MAX_PROBLEMS],
    )
    return WindowData(
        start=start,
        end=end,
        features=features,
        scores=_scores_array(per_row),
        inference_ids=ids,
        capture=summary,
        unparsable={k: v for k, v in unparsable.items() if v},
    )
