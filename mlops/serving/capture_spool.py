"""The local spool of ``s3://`` capture files, and their uploads.

A capture file bound for ``s3://bucket/key`` is written to ``{spool}/bucket/key`` and handed to the
``SpoolUploader`` when it rotates. One thread uploads it and removes it from the spool only once the
upload succeeded; a failed upload stays in the spool and is tried again later (after 5 s, then twice as
long each time, at most every 5 minutes). ``recover()`` (at start-up) takes every file a previous process
left in the spool — a crash, or uploads that never succeeded — cuts a torn last line off and uploads it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from mlops.store.interface import ArtifactStore, open_store

log = logging.getLogger(__name__)

_CHUNK = 1 << 16
LOG_EVERY_SECONDS = 60.0  # a persistent failure is logged once a minute, and counted every time


def spool_path(spool_dir: Path, uri: str) -> Path:
    """Where the spool keeps the copy of ``s3://bucket/key``."""
    return spool_dir / uri[len("s3://") :]


def spool_uri(spool_dir: Path, path: Path) -> str | None:
    """The ``s3://`` object a spool file stands for (None for a file not under a bucket folder)."""
    rel = path.relative_to(spool_dir).as_posix()
    return f"s3://{rel}" if "/" in rel else None


def endpoint_of(uri: str) -> str:
    """The endpoint of a capture object ``…/{endpoint}/{variant}/yyyy/mm/dd/hh/{file}``."""
    parts = uri[len("s3://") :].split("/")
    return parts[-7] if len(parts) >= 8 else "-"


def trim_torn_line(path: Path) -> int:
    """Cut a last line without its newline (a write torn by a crash) off ``path``; its new size."""
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        end, pos = 0, size
        while pos > 0:
            step = min(_CHUNK, pos)
            f.seek(pos - step)
            newline = f.read(step).rfind(b"\n")
            if newline >= 0:
                end = pos - step + newline + 1
                break
            pos -= step
        if end < size:
            f.truncate(end)
            os.fsync(f.fileno())
        return end


@dataclass
class _Upload:
    local: Path
    uri: str
    endpoint: str
    tries: int = 0
    due: float = 0.0  # time.monotonic() of the next try


class SpoolUploader:
    def __init__(
        self,
        spool_dir: Path,
        s3_endpoint_url: str | None = None,
        retry_seconds: float = 5.0,
        retry_max_seconds: float = 300.0,
    ) -> None:
        self.spool_dir = spool_dir
        self.s3_endpoint_url = s3_endpoint_url
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds
        self.uploaded = 0
        self.failures: dict[str, int] = {}  # per endpoint; written by the upload thread only
        self.last_error: dict[str, tuple[str, float]] = {}  # per endpoint: (message, time.time())
        self._pending: dict[Path, _Upload] = {}
        self._lock = threading.Lock()  # guards _pending; never held during an upload
        self._wake = threading.Event()
        self._finish = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: ArtifactStore | None = None
        self._logged: dict[str, float] = {}

    # --- what waits -------------------------------------------------------------------------------

    def add(self, local: Path, uri: str) -> None:
        with self._lock:
            self._pending.setdefault(local, _Upload(local, uri, endpoint_of(uri)))
        self._wake.set()

    def pending(self) -> dict[str, int]:
        """Files waiting for their upload, per endpoint."""
        counts: dict[str, int] = {}
        with self._lock:
            for upload in self._pending.values():
                counts[upload.endpoint] = counts.get(upload.endpoint, 0) + 1
        return counts

    def recover(self, busy: Collection[Path] = ()) -> int:
        """Queue every spool file a previous process left (except ``busy`` ones, open right now); empty
        folders are removed. Returns how many files were queued."""
        if not self.spool_dir.is_dir():
            return 0
        found = 0
        for path in sorted(self.spool_dir.rglob("*.jsonl")):
            uri = spool_uri(self.spool_dir, path)
            if path in busy or uri is None or not path.is_file():
                continue
            try:
                size = trim_torn_line(path)
                if size == 0:
                    path.unlink()
                    continue
            except OSError as e:
                self._note(endpoint_of(uri), f"spool file {path} unreadable: {e}")
                continue
            self.add(path, uri)
            found += 1
        for folder in sorted((p for p in self.spool_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only succeeds when empty
        if found:
            log.info("capture spool: %d file(s) left by an earlier process are being uploaded", found)
        return found

    # --- the upload thread ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="capture-upload", daemon=True)
            self._thread.start()

    def finish(self, timeout: float) -> list[Path]:
        """Try every waiting file once more, then stop; at most ``timeout`` seconds. Returns the files
        still in the spool (the next start uploads them)."""
        self._finish.set()
        self.start()  # also when start() was never called: the final round runs on the thread
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, timeout))
        with self._lock:
            return sorted(self._pending)

    def _run(self) -> None:
        while True:
            final = self._finish.is_set()
            try:
                self._upload(everything=final)
            except Exception as e:  # never let the thread die: the files stay in the spool
                self._note("-", f"capture upload round failed: {type(e).__name__}: {e}")
            if final:
                return
            self._wake.wait(self._seconds_to_next())
            self._wake.clear()

    def _seconds_to_next(self) -> float:
        with self._lock:
            dues = [u.due for u in self._pending.values()]
        return max(0.0, min(dues) - time.monotonic()) if dues else 60.0

    def _upload(self, everything: bool) -> None:
        now = time.monotonic()
        with self._lock:
            due = [u for u in self._pending.values() if everything or u.due <= now]
        for upload in due:
            try:
                if self._store is None:
                    self._store = open_store("s3://", self.s3_endpoint_url)
                self._store.put_file(upload.local, upload.uri)
            except Exception as e:
                upload.tries += 1
                wait = min(self.retry_max_seconds, self.retry_seconds * 2 ** (upload.tries - 1))
                upload.due = time.monotonic() + wait
                self.failures[upload.endpoint] = self.failures.get(upload.endpoint, 0) + 1
                self._note(
                    upload.endpoint,
                    f"upload of {upload.local} to {upload.uri} failed (try {upload.tries}; kept in the spool, "
                    f"next try in {wait:g}s): {type(e).__name__}: {e}",
                )
                continue
            with contextlib.suppress(FileNotFoundError):
                upload.local.unlink()
            with self._lock:
                self._pending.pop(upload.local, None)
            self.uploaded += 1

    def _note(self, endpoint: str, message: str) -> None:
        now = time.time()
        self.last_error[endpoint] = (message, now)
        if now - self._logged.get(endpoint, 0.0) >= LOG_EVERY_SECONDS:  # a failing bucket: not every retry
            self._logged[endpoint] = now
            log.warning("capture: %s", message)
