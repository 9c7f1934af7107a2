"""The ArtifactStore interface and the choice of implementation by URI scheme (as MLflow does)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
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


def relative_key(uri: str, prefix: str) -> PurePosixPath:
    """Where object ``uri``, listed under ``prefix``, goes below a local folder: its key past the prefix
    (the base name when ``uri`` is the prefix itself). A remote key can hold anything, so a key with a
    ``..`` or ``.`` segment, an empty segment (``a//b``, a leading ``/``: an absolute key), a backslash or
    a NUL is refused with an error naming it, before anything is written."""
    base = prefix.rstrip("/")
    if uri == base:
        rest = uri.rsplit("/", 1)[-1]
    elif base and uri.startswith(base):
        rest = uri[len(base) :]
        rest = rest[1:] if rest.startswith("/") else rest
    else:
        raise ValidationError(f"key {uri!r}", f"is not under {prefix!r}")
    field = f"key {uri!r}"
    if "\\" in rest or "\0" in rest:
        raise ValidationError(field, "holds a backslash or a NUL; refused as a local file name")
    if rest.startswith("/"):
        raise ValidationError(field, "is absolute below the prefix; refused as a local file name")
    segments = rest.split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise ValidationError(field, "has an empty, '.' or '..' segment; refused as a local file name")
    return PurePosixPath(*segments)
