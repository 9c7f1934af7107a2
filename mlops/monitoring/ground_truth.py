"""Ground truth: labels that arrive after the inferences, joined to captured rows by inference id.

Accepted lines (JSON lines):

- ours: ``{"inferenceId": "abc", "groundTruthLabel": 1}`` (a list of labels for a request of several rows);
- Model Monitor's: ``{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "abc"},
  "eventVersion": "0"}`` (``eventId`` names the captured inference id, or its event id when none was sent).

Uploads are stored in Model Monitor's format, partitioned by upload hour: ``{location}/yyyy/mm/dd/hh/*.jsonl``.
A row of a captured request of several rows has the id ``{id}:{row}``; a list label covers them all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from mlops.core.datasets import FeatureEncoding
from mlops.core.errors import ValidationError
from mlops.core.monitoring import GroundTruthSummary
from mlops.monitoring.features import label_index
from mlops.monitoring.window import WindowData
from mlops.store.interface import open_store

MAX_PROBLEMS = 20


@dataclass
class GroundTruth:
    labels: dict[str, object] = field(default_factory=dict)
    files: int = 0
    lines: int = 0
    malformed: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def _label_of(document: dict[str, object]) -> tuple[str, object]:
    if "groundTruthData" in document:
        data = document["groundTruthData"]
        meta = document.get("eventMetadata")
        if not isinstance(data, dict) or not isinstance(meta, dict) or "eventId" not in meta:
            raise ValueError("Model Monitor's format needs groundTruthData.data and eventMetadata.eventId")
        value = data.get("data")
        if data.get("encoding", "CSV") == "JSON" and isinstance(value, str):
            value = json.loads(value)
        elif isinstance(value, str) and "," in value:
            value = value.split(",")
        return str(meta["eventId"]), value
    if "inferenceId" not in document or "groundTruthLabel" not in document:
        raise ValueError('expected {"inferenceId": …, "groundTruthLabel": …} or Model Monitor\'s groundTruthData')
    return str(document["inferenceId"]), document["groundTruthLabel"]


def parse(data: bytes, where: str, into: GroundTruth | None = None) -> GroundTruth:
    """Labels of one file; bad lines are counted and described, never fatal."""
    out = into or GroundTruth()
    out.files += 1
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        out.lines += 1
        try:
            document = json.loads(line)
            if not isinstance(document, dict):
                raise ValueError("a line must be a JSON object")
            ident, value = _label_of(document)
            if value is None or (isinstance(value, list) and not value):
                raise ValueError("the label is empty")
        except (ValueError, json.JSONDecodeError) as e:
            out.malformed += 1
            last = number == len(lines) and not data.endswith(b"\n")
            out.note(f"{where}:{number}: {'truncated line' if last else str(e)[:160]}")
            continue
        if ident in out.labels and out.labels[ident] != value:
            out.duplicates += 1
            out.note(f"{where}:{number}: a second, different label for {ident!r}; the later one is kept")
        out.labels[ident] = value
    return out


def model_monitor_lines(labels: dict[str, object]) -> bytes:
    lines = []
    for ident, value in labels.items():
        data = json.dumps(value) if isinstance(value, list | dict) else str(value)
        encoding = "JSON" if isinstance(value, list | dict) else "CSV"
        lines.append(
            json.dumps(
                {
                    "groundTruthData": {"data": data, "encoding": encoding},
                    "eventMetadata": {"eventId": ident},
                    "eventVersion": "0",
                }
            )
        )
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Upload:
    uri: str | None
    stored: int
    parsed: GroundTruth
    unknown: tuple[str, ...]  # ids no captured inference carries


def upload(
    data: bytes,
    location: str,
    where: str,
    known_ids: set[str] | None = None,
    keep_unknown: bool = False,
    when: datetime | None = None,
    s3_endpoint_url: str | None = None,
) -> Upload:
    """Store the labels of ``data`` under ``location``. With ``known_ids`` (the captured inference ids),
    labels for other ids are refused unless ``keep_unknown`` (they may belong to traffic not yet read)."""
    parsed = parse(data, where)
    if parsed.lines and parsed.malformed == parsed.lines:
        raise ValidationError(
            where, f"no line is a ground-truth label ({parsed.malformed} malformed): {parsed.problems[0]}"
        )
    if not parsed.labels:
        raise ValidationError(where, "holds no labels")
    unknown: tuple[str, ...] = ()
    if known_ids is not None:
        unknown = tuple(sorted(i for i in parsed.labels if i not in known_ids and i.split(":")[0] not in known_ids))
    keep = dict(parsed.labels) if keep_unknown else {k: v for k, v in parsed.labels.items() if k not in set(unknown)}
    if not keep:
        raise ValidationError(
            where,
            f"none of the {len(parsed.labels)} inference ids was captured (e.g. {', '.join(unknown[:3])}); "
            "check the endpoint name, or keep them with --keep-unknown",
        )
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    uri = "/".join(
        (location.rstrip("/"), moment.strftime("%Y/%m/%d/%H"), f"{moment:%M-%S}-{uuid.uuid4().hex[:12]}.jsonl")
    )
    open_store(location, s3_endpoint_url).put_bytes(model_monitor_lines(keep), uri)
    return Upload(uri, len(keep), parsed, unknown)


def read(location: str, since: datetime | None = None, s3_endpoint_url: str | None = None) -> GroundTruth:
    """Every label stored under ``location`` in hours from ``since`` on (labels arrive after inferences)."""
    store = open_store(location, s3_endpoint_url)
    out = GroundTruth()
    floor = since.astimezone(UTC).strftime("%Y/%m/%d/%H") if since else None
    base = location.rstrip("/")
    for uri in store.list(base + "/"):
        if not uri.endswith((".jsonl", ".json")):
            continue
        parts = uri[len(base) + 1 :].split("/") if uri.startswith(base) else []
        hour = "/".join(parts[:4]) if len(parts) == 5 else None
        if floor and hour is not None and hour < floor:
            continue
        parse(store.get_bytes(uri), uri, out)
    return out


def _row_label(ident: str, labels: dict[str, object]) -> object:
    if ident in labels:
        return labels[ident]
    head, _, row = ident.rpartition(":")
    if head and row.isdigit() and isinstance(labels.get(head), list):
        values = labels[head]
        assert isinstance(values, list)
        return values[int(row)] if int(row) < len(values) else None
    return None


def join(window: WindowData, truth: GroundTruth, encoding: FeatureEncoding) -> WindowData:
    """The window with a label per row (NaN where none is known) and an account of the join."""
    ids: Iterable[str] = window.inference_ids if window.inference_ids is not None else ()
    values = [_row_label(str(i), truth.labels) for i in ids]
    labels = label_index(values, encoding) if values else np.zeros(0)
    given = sum(v is not None for v in values)
    matched = int(np.sum(~np.isnan(labels))) if len(labels) else 0
    problems = list(truth.problems)
    if given > matched:
        problems.append(
            f"{given - matched} labels are not among the classes {', '.join(encoding.Classes)}"
            if encoding.ProblemType.classification
            else f"{given - matched} labels are not numbers"
        )
    summary = GroundTruthSummary(
        Files=truth.files,
        Labels=len(truth.labels),
        MalformedLines=truth.malformed,
        MatchedRows=matched,
        UnlabeledRows=window.rows - matched,
        Problems=tuple(problems[:MAX_PROBLEMS]),
    )
    return window.with_labels(labels if len(labels) == window.rows else np.full(window.rows, np.nan), summary)
