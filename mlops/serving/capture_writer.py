"""The capture writer: records from the request path to SageMaker-format files, on a thread of its own.

The request path only appends to a deque (``submit``: no I/O, no lock); one writer thread serialises
whole lines and appends them with one write(2) per file every ``flush_seconds``.

- Queue: capped in bytes (``max_queue_bytes``, 64 MiB by default: bodies plus EVENT_OVERHEAD_BYTES per
  record) and in records (``max_queue``). Overflow policy: the newest record is dropped and counted
  (``dropped``); the request is never blocked or slowed, and what is queued keeps its order.
- Failures: a write that fails (a full disk, an I/O error) counts its records as ``failed``, never as
  written; the whole lines before the failure stay, a torn line is cut off; the error and its time are
  kept; the file is closed and the next records open a new one. The writer thread never stops on an
  error. Counts are per endpoint (``statistics()``): /metrics and DescribeEndpoint show them.
- Files: created 0600 in folders created 0700 (capture.py's modes); fsynced, with their folder, when
  they rotate (the hour changes; ``rotate_seconds`` for spooled files) and on close.
- ``s3://`` destinations: written to a local spool, uploaded on rotation; failed uploads are retried and
  a spool left by an earlier process is uploaded on ``start()`` (capture_spool.py).
- ``close(timeout)``: drains, fsyncs, closes and uploads within ``timeout`` seconds and never raises;
  it returns (and logs) what it could not do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlops.core.files import sync_folder
from mlops.core.hosting import DataCaptureStatistics
from mlops.serving.capture import (
    CAPTURE_DIR_MODE,
    CAPTURE_FILE_MODE,
    CaptureEvent,
    capture_line,
    local_path,
    partition,
)
from mlops.serving.capture_spool import LOG_EVERY_SECONDS, SpoolUploader, spool_path

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE_BYTES = 64 << 20
EVENT_OVERHEAD_BYTES = 512  # a queued record's Python objects beside its bodies (measured: ~300)
BATCH_BYTES = 1 << 20  # lines gathered for one write(2)


@dataclass(frozen=True)
class CaptureCloseReport:
    """What ``CaptureWriter.close`` managed to do (it never raises)."""

    written: int  # records written since the writer started
    unwritten: int  # records still queued when the time ran out
    left_in_spool: tuple[Path, ...]  # not uploaded yet: the next start uploads them
    errors: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not (self.unwritten or self.left_in_spool or self.errors)

    def describe(self) -> str:
        parts = [f"{self.written} record(s) written"]
        if self.unwritten:
            parts.append(f"{self.unwritten} record(s) not written in time")
        if self.left_in_spool:
            parts.append(f"{len(self.left_in_spool)} file(s) left in the spool for the next start to upload")
        parts.extend(self.errors)
        return "; ".join(parts)


class _Counters:
    """One endpoint's counts. Each field has one writer: the request path (submitted, submitted_bytes,
    dropped) or the writer thread (the rest), so no lock is needed on the request path."""

    __slots__ = ("dropped", "failed", "last_error", "submitted", "submitted_bytes", "taken", "taken_bytes", "written")

    def __init__(self) -> None:
        self.submitted = self.submitted_bytes = self.dropped = 0
        self.taken = self.taken_bytes = self.written = self.failed = 0
        self.last_error: tuple[str, float] | None = None


class _OpenFile:
    __slots__ = ("batch", "batch_bytes", "counters", "fd", "hour", "local", "opened", "size", "uri")

    def __init__(self, fd: int, local: Path, uri: str | None, hour: str, counters: _Counters) -> None:
        self.fd = fd
        self.local = local
        self.uri = uri  # set when the file is a spool copy of an s3:// object
        self.hour = hour
        self.opened = time.time()
        self.counters = counters
        self.size = 0  # bytes written: every one a whole line
        self.batch: list[bytes] = []  # lines to write in the next write(2)
        self.batch_bytes = 0


def _queued_size(event: CaptureEvent) -> int:
    return len(event.body) + (len(event.output) if event.output is not None else 0) + EVENT_OVERHEAD_BYTES


def _make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents with CAPTURE_DIR_MODE, each made durable in its parent."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(created, CAPTURE_DIR_MODE)
            sync_folder(created.parent)


class CaptureWriter:
    """Capture records from the request path to files, on a thread of its own (the module's docstring
    says how the queue overflows, how failures are counted and when files are fsynced)."""

    def __init__(
        self,
        spool_dir: Path,
        max_queue: int = 500_000,
        flush_seconds: float = 0.2,
        rotate_seconds: float = 300.0,
        s3_endpoint_url: str | None = None,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
        upload_retry_seconds: float = 5.0,
    ) -> None:
        self.spool_dir = spool_dir
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.flush_seconds = flush_seconds
        self.rotate_seconds = rotate_seconds
        self.s3_endpoint_url = s3_endpoint_url
        self.uploads = SpoolUploader(spool_dir, s3_endpoint_url, upload_retry_seconds)
        self.last_error: str | None = None
        self._counters: dict[str, _Counters] = {}
        self._submitted_bytes = 0  # written by submit() only
        self._taken_bytes = 0  # written by the writer only
        self._queue: deque[CaptureEvent] = deque()
        self._files: dict[tuple[str, str, str], _OpenFile] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # writer thread vs. flush()/close() from another thread
        self._logged = 0.0

    def start(self) -> None:
        """Start the writer and upload threads; spool files an earlier process left are uploaded."""
        if self._thread is None:
            with self._lock:
                self.uploads.recover(busy={f.local for f in self._files.values()})
            self.uploads.start()
            self._thread = threading.Thread(target=self._run, name="capture-writer", daemon=True)
            self._thread.start()

    # --- the request path: no I/O, no lock ------------------------------------------------------

    def _counters_for(self, endpoint: str) -> _Counters:
        counters = self._counters.get(endpoint)
        return counters if counters is not None else self._counters.setdefault(endpoint, _Counters())

    def submit(self, event: CaptureEvent) -> bool:
        """Queue ``event`` (from one thread: the router's event loop); False when it was dropped."""
        counters = self._counters.get(event.endpoint) or self._counters_for(event.endpoint)
        output = event.output
        size = len(event.body) + (len(output) if output is not None else 0) + EVENT_OVERHEAD_BYTES
        submitted = self._submitted_bytes
        if submitted - self._taken_bytes + size > self.max_queue_bytes or len(self._queue) >= self.max_queue:
            counters.dropped += 1
            return False
        self._submitted_bytes = submitted + size
        counters.submitted_bytes += size
        counters.submitted += 1
        self._queue.append(event)
        return True

    # --- counts ---------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def queued_bytes(self) -> int:
        return self._submitted_bytes - self._taken_bytes

    def _total(self, name: str) -> int:
        return sum(getattr(c, name) for c in list(self._counters.values()))

    @property
    def submitted(self) -> int:
        return self._total("submitted")

    @property
    def written(self) -> int:
        return self._total("written")

    @property
    def failed(self) -> int:
        return self._total("failed")

    @property
    def dropped(self) -> int:
        return self._total("dropped")

    def statistics(self) -> dict[str, DataCaptureStatistics]:
        """Per endpoint: written, failed, dropped, queued records and bytes, uploads, the last error."""
        pending = self.uploads.pending()
        failures = dict(self.uploads.failures)
        upload_errors = dict(self.uploads.last_error)
        out = {}
        for endpoint in sorted({*list(self._counters), *pending, *failures} - {"-"}):
            c = self._counters.get(endpoint) or _Counters()
            errors = [e for e in (c.last_error, upload_errors.get(endpoint)) if e is not None]
            last = max(errors, key=lambda e: e[1]) if errors else None
            out[endpoint] = DataCaptureStatistics(
                WrittenRecords=c.written,
                FailedRecords=c.failed,
                DroppedRecords=c.dropped,
                QueuedRecords=max(0, c.submitted - c.taken),
                QueuedBytes=max(0, c.submitted_bytes - c.taken_bytes),
                PendingUploads=pending.get(endpoint, 0),
                FailedUploads=failures.get(endpoint, 0),
                LastError=last[0] if last else None,
                LastErrorTime=datetime.fromtimestamp(last[1], UTC) if last else None,
            )
        return out

    def statistics_of(self, endpoint: str) -> DataCaptureStatistics:
        return self.statistics().get(endpoint) or DataCaptureStatistics()

    def _fail(self, counters: _Counters, records: int, message: str) -> None:
        counters.failed += records
        counters.last_error = (message, time.time())
        self.last_error = message
        now = time.monotonic()
        if now - self._logged >= LOG_EVERY_SECONDS:  # a full disk fails every batch: log once a minute
            self._logged = now
            log.warning("capture: %s (%d record(s) lost; counted in mlops_capture_failed_total)", message, records)

    # --- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.flush_seconds)
            self.flush()

    def flush(self) -> None:
        """Write everything queued and rotate; never raises (failures are counted)."""
        with self._lock:
            try:
                self._drain()
                self._rotate(time.time())
            except Exception as e:  # a bug here must not stop capture either
                self.last_error = f"capture writer: {type(e).__name__}: {e}"
                log.exception("capture writer")

    def _drain(self) -> None:
        queue = self._queue
        touched: list[_OpenFile] = []
        while queue:
            event = queue.popleft()
            counters = self._counters_for(event.endpoint)
            size = _queued_size(event)
            self._taken_bytes += size
            counters.taken_bytes += size
            counters.taken += 1
            try:
                line = (capture_line(event) + "\n").encode("utf-8")
                f = self._file_for(event, counters)
            except Exception as e:
                self._fail(counters, 1, f"{event.endpoint}/{event.variant}: {type(e).__name__}: {e}")
                continue
            if not f.batch:
                touched.append(f)
            f.batch.append(line)
            f.batch_bytes += len(line)
            if f.batch_bytes >= BATCH_BYTES:
                self._write_batch(f)
        for f in touched:
            if f.batch:
                self._write_batch(f)

    def _file_for(self, event: CaptureEvent, counters: _Counters) -> _OpenFile:
        moment = datetime.fromtimestamp(event.time, UTC)
        hour = moment.strftime("%Y%m%d%H")
        key = (event.settings.dest, event.endpoint, event.variant)
        f = self._files.get(key)
        if f is not None and f.hour != hour:
            del self._files[key]
            self._close_file(f)
            f = None
        if f is None:
            f = self._open(event.settings.dest, event.endpoint, event.variant, moment, hour, counters)
            self._files[key] = f
        return f

    def _open(
        self, dest: str, endpoint: str, variant: str, moment: datetime, hour: str, counters: _Counters
    ) -> _OpenFile:
        now = datetime.now(UTC)
        name = now.strftime("%M-%S-") + f"{now.microsecond // 1000:03d}-{uuid.uuid4().hex[:12]}.jsonl"
        folder = partition(dest, endpoint, variant, moment)
        uri = f"{folder}/{name}" if dest.startswith("s3://") else None
        local = spool_path(self.spool_dir, uri) if uri is not None else local_path(folder) / name
        _make_folders(local.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        return _OpenFile(os.open(local, flags, CAPTURE_FILE_MODE), local, uri, hour, counters)

    def _write_batch(self, f: _OpenFile) -> None:
        lines, data = f.batch, b"".join(f.batch)
        f.batch, f.batch_bytes = [], 0
        done = 0
        try:
            view = memoryview(data)
            while done < len(data):
                done += os.write(f.fd, view[done:])
        except OSError as e:
            whole, kept = 0, 0
            for line in lines:
                if kept + len(line) > done:
                    break
                kept += len(line)
                whole += 1
            if kept < done:  # a torn line: cut it off so the file ends with a whole record
                with contextlib.suppress(OSError):
                    os.ftruncate(f.fd, f.size + kept)
            f.size += kept
            f.counters.written += whole
            self._fail(f.counters, len(lines) - whole, f"writing {f.local}: {e.strerror or e}")
            key = next((k for k, v in self._files.items() if v is f), None)
            if key is not None:
                del self._files[key]
            self._close_file(f)  # the next record opens a new file
            return
        f.size += len(data)
        f.counters.written += len(lines)

    def _close_file(self, f: _OpenFile) -> None:
        """Write what is left, fsync the file and its folder, close it; spool files go to the uploader."""
        if f.batch:
            self._write_batch(f)  # on failure this closes f itself
            if f.fd < 0:
                return
        fd, f.fd = f.fd, -1
        if fd < 0:
            return
        try:
            os.fsync(fd)
        except OSError as e:
            self._note_error(f.counters, f"fsync of {f.local}: {e.strerror or e}")
        with contextlib.suppress(OSError):
            os.close(fd)
        try:
            if f.size == 0:
                f.local.unlink(missing_ok=True)
                return
            sync_folder(f.local.parent)
        except OSError as e:
            self._note_error(f.counters, f"fsync of {f.local.parent}: {e.strerror or e}")
        if f.uri is not None:
            self.uploads.add(f.local, f.uri)

    def _note_error(self, counters: _Counters, message: str) -> None:
        counters.last_error = (message, time.time())
        self.last_error = message
        log.warning("capture: %s", message)

    def _rotate(self, now: float) -> None:
        current_hour = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d%H")
        for key, f in list(self._files.items()):
            expired = f.uri is not None and now - f.opened >= self.rotate_seconds
            if expired or (f.hour < current_hour and now - f.opened > 5):
                del self._files[key]
                self._close_file(f)

    def close(self, timeout: float = 30.0) -> CaptureCloseReport:
        """Write everything queued, fsync and close every file, upload spooled ones — within ``timeout``
        seconds, and without raising: what could not be done is in the report (and logged)."""
        deadline = time.monotonic() + timeout
        errors: list[str] = []
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            try:
                self._drain()
                for f in list(self._files.values()):
                    self._close_file(f)
                self._files.clear()
            except Exception as e:
                errors.append(f"closing capture files: {type(e).__name__}: {e}")
            finally:
                self._lock.release()
        else:
            errors.append("the capture writer is stuck in a write; its open files were not closed")
        left = self.uploads.finish(max(0.0, deadline - time.monotonic()))
        report = CaptureCloseReport(self.written, len(self._queue), tuple(left), tuple(errors))
        if not report.complete or self.failed or self.dropped:
            log.warning(
                "capture closed: %s (failed %d, dropped %d since start)", report.describe(), self.failed, self.dropped
            )
        return report
