"""Data capture in SageMaker's format, written off the request path, and a reader for monitors.

Each captured invocation is one JSON line::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "1,2,3", "encoding": "CSV"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": "…", "inferenceId": "…", "inferenceTime": "2026-11-22T03:14:15.123Z"},
     "eventVersion": "0",
     "mlopsMetadata": {"endpointName": …, "variantName": …, "modelLatencyUs": …, "overheadLatencyUs": …}}

in files partitioned like SageMaker's: ``{dest}/{endpoint}/{variant}/yyyy/mm/dd/hh/{mm-ss-mmm}-{id}.jsonl``
(UTC hours). A shadow variant's answer is a record of its own under the shadow's name whose
``mlopsMetadata.productionEventId`` names the production record it copies.

Records are written by ``capture_writer.CaptureWriter`` (off the request path; its module says how it
queues, fails and rotates) and read back by ``read_capture``, which counts malformed and truncated lines
instead of failing.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from mlops.core.files import PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE
from mlops.core.hosting import CaptureMode, CaptureRecord, DataCaptureConfig
from mlops.store.interface import open_store

DEFAULT_CSV_TYPES = ("text/csv",)
DEFAULT_JSON_TYPES = ("application/json", "application/jsonlines")

CAPTURE_FILE_MODE = PRIVATE_FILE_MODE  # captured requests are user data: readable by the owner only
CAPTURE_DIR_MODE = PRIVATE_FOLDER_MODE


@dataclass(frozen=True)
class CaptureSettings:
    """A fleet's DataCaptureConfig, ready for the request path."""

    dest: str
    sampling: float  # 0..1
    capture_input: bool
    capture_output: bool
    csv_types: frozenset[str]
    json_types: frozenset[str]

    @classmethod
    def from_config(cls, config: DataCaptureConfig | None) -> CaptureSettings | None:
        if config is None or not config.EnableCapture or config.InitialSamplingPercentage <= 0:
            return None
        header = config.CaptureContentTypeHeader
        return cls(
            dest=config.DestinationS3Uri,
            sampling=config.InitialSamplingPercentage / 100.0,
            capture_input=CaptureMode.Input in config.modes,
            capture_output=CaptureMode.Output in config.modes,
            # SageMaker: without CaptureContentTypeHeader every payload is captured base64-encoded.
            csv_types=frozenset(t.lower() for t in header.CsvContentTypes) if header else frozenset(),
            json_types=frozenset(t.lower() for t in header.JsonContentTypes) if header else frozenset(),
        )


class CaptureEvent:
    """One invocation to record (built on the request path: no serialisation here)."""

    __slots__ = (
        "body",
        "config_name",
        "custom_attributes",
        "endpoint",
        "error",
        "event_id",
        "inference_id",
        "input_type",
        "model_us",
        "output",
        "output_type",
        "overhead_us",
        "production_event_id",
        "settings",
        "shadow",
        "status",
        "time",
        "variant",
    )

    def __init__(
        self,
        settings: CaptureSettings,
        endpoint: str,
        variant: str,
        config_name: str,
        when: float,
        event_id: str,
        body: bytes,
        input_type: str,
        output: bytes | None,
        output_type: str,
        status: int,
        model_us: int | None,
        overhead_us: int | None,
        inference_id: str | None = None,
        custom_attributes: str | None = None,
        shadow: bool = False,
        production_event_id: str | None = None,
        error: str | None = None,
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.variant = variant
        self.config_name = config_name
        self.time = when
        self.event_id = event_id
        self.body = body
        self.input_type = input_type
        self.output = output
        self.output_type = output_type
        self.status = status
        self.model_us = model_us
        self.overhead_us = overhead_us
        self.inference_id = inference_id
        self.custom_attributes = custom_attributes
        self.shadow = shadow
        self.production_event_id = production_event_id
        self.error = error


def _payload(data: bytes, content_type: str, mode: str, settings: CaptureSettings) -> dict[str, str]:
    base = content_type.split(";")[0].strip().lower()
    encoding = "CSV" if base in settings.csv_types else "JSON" if base in settings.json_types else "BASE64"
    text: str | None = None
    if encoding != "BASE64":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "BASE64"
    if text is None:
        text = base64.b64encode(data).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def capture_line(event: CaptureEvent) -> str:
    s = event.settings
    data: dict[str, dict[str, str]] = {}
    if s.capture_input:
        data["endpointInput"] = _payload(event.body, event.input_type, "INPUT", s)
    if s.capture_output and event.output is not None:
        data["endpointOutput"] = _payload(event.output, event.output_type, "OUTPUT", s)
    metadata: dict[str, str] = {"eventId": event.event_id, "inferenceTime": _iso(event.time)}
    if event.inference_id:
        metadata["inferenceId"] = event.inference_id
    if event.custom_attributes:
        metadata["customAttributes"] = event.custom_attributes
    ours: dict[str, object] = {
        "endpointName": event.endpoint,
        "variantName": event.variant,
        "endpointConfigName": event.config_name,
        "shadow": event.shadow,
        "statusCode": event.status,
        "modelLatencyUs": event.model_us,
        "overheadLatencyUs": event.overhead_us,
    }
    if event.production_event_id:
        ours["productionEventId"] = event.production_event_id
    if event.error:
        ours["error"] = event.error
    record = {"captureData": data, "eventMetadata": metadata, "eventVersion": "0", "mlopsMetadata": ours}
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def partition(dest: str, endpoint: str, variant: str, moment: datetime) -> str:
    return "/".join((dest.rstrip("/"), endpoint, variant, moment.strftime("%Y/%m/%d/%H")))


def local_path(uri: str) -> Path:
    return Path(uri[len("file://") :]) if uri.startswith("file://") else Path(uri)


# --- reading ----------------------------------------------------------------------------------------


@dataclass
class CaptureReader:
    """Iterates the capture records of an endpoint whose inferenceTime is in [start, end). Lines that are
    not valid records are counted (``malformed``; ``truncated`` for a last line without its newline,
    e.g. one still being written) and the first few described in ``problems``; reading goes on."""

    dest: str
    endpoint: str
    start: datetime
    end: datetime
    variant: str | None = None
    s3_endpoint_url: str | None = None
    records: int = 0
    malformed: int = 0
    truncated: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)

    def _note(self, where: str, reason: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(f"{where}: {reason}")

    def _hours(self) -> set[str]:
        hours = set()
        moment = self.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        end = self.end.astimezone(UTC)
        while moment < end:
            hours.add(moment.strftime("%Y/%m/%d/%H"))
            moment += timedelta(hours=1)
        return hours

    def _files(self) -> Iterator[tuple[str, bytes]]:
        base = self.dest.rstrip("/") + "/" + self.endpoint
        hours = self._hours()
        if self.dest.startswith("s3://"):
            store = open_store(self.dest, self.s3_endpoint_url)
            for uri in store.list(base + "/"):
                rest = uri[len(base) + 1 :].split("/")
                in_range = len(rest) == 6 and "/".join(rest[1:5]) in hours and uri.endswith(".jsonl")
                if in_range and (self.variant is None or rest[0] == self.variant):
                    yield uri, store.get_bytes(uri)
            return
        root = local_path(base)
        if not root.is_dir():
            return
        for variant_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            if self.variant is not None and variant_dir.name != self.variant:
                continue
            for hour in sorted(hours):
                folder = variant_dir / hour
                if folder.is_dir():
                    for path in sorted(folder.glob("*.jsonl")):
                        with contextlib.suppress(FileNotFoundError):
                            yield str(path), path.read_bytes()

    def __iter__(self) -> Iterator[CaptureRecord]:
        start, end = self.start.astimezone(UTC), self.end.astimezone(UTC)
        for where, data in self._files():
            self.files += 1
            lines = data.split(b"\n")
            complete = data.endswith(b"\n")
            if complete:
                lines.pop()
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = CaptureRecord.model_validate_json(line)
                except PydanticValidationError as e:
                    last = number == len(lines) and not complete
                    if last:
                        self.truncated += 1
                    else:
                        self.malformed += 1
                    self._note(f"{where}:{number}", "truncated line" if last else e.errors()[0]["msg"])
                    continue
                moment = record.eventMetadata.inferenceTime
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                if start <= moment < end:
                    self.records += 1
                    yield record


def read_capture(
    dest: str,
    endpoint: str,
    start: datetime,
    end: datetime,
    variant: str | None = None,
    s3_endpoint_url: str | None = None,
) -> CaptureReader:
    """Records captured for ``endpoint`` under ``dest`` (a folder, file:// or s3://) between ``start``
    (inclusive) and ``end`` (exclusive); iterate it, then read its ``malformed``/``truncated`` counts."""
    return CaptureReader(dest, endpoint, start, end, variant, s3_endpoint_url)


def decode_payload(data: str, encoding: str) -> bytes:
    """The captured bytes of a payload (CSV and JSON are stored as text, anything else as base64)."""
    return base64.b64decode(data) if encoding == "BASE64" else data.encode("utf-8")
