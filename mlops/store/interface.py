"""The ArtifactStore interface and the choice of implementation by URI scheme (as MLflow does)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

from mlops.core.errors import ValidationError


class ArtifactStore(Protocol):
    """Whole-object storage addressed by URI (``file:///…`` or ``s3://bucket/key``)."""

    def put_file(self, local: Path, uri: str) -> str:
        """Store ``local`` at ``uri`` atomically (readers never see half an object); returns ``uri``."""
        ...

    def get_file(self, uri: str, local: Path) -> Path: ...

    def put_bytes(self, data: bytes, uri: str) -> str: ...

    def get_bytes(self, uri: str) -> bytes: ...

    def exists(self, uri: str) -> bool: ...

    def list(self, prefix: str) -> list[str]:
        """URIs of every object under ``prefix``, sorted."""
        ...

    def join(self, base: str, *parts: str) -> str: ...


def open_store(uri: str, s3_endpoint_url: str | None = None) -> ArtifactStore:
    """The store that serves ``uri``: s3:// through boto3, anything else is a local path or file:// URI."""
    if uri.startswith("s3://"):
        from mlops.store.s3 import S3Store

        return S3Store(endpoint_url=s3_endpoint_url)
    if "://" in uri and not uri.startswith("file://"):
        raise ValidationError("uri", f"{uri!r}: unsupported scheme; use a local path, file:// or s3://")
    from mlops.store.local import LocalStore

    return LocalStore()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
