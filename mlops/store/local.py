"""The local-folder artifact store: plain paths or file:// URIs; writes are atomic renames."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlops.core.errors import NotFoundError


def to_path(uri: str) -> Path:
    if uri.startswith("file://"):
        return Path(unquote(urlparse(uri).path))
    return Path(uri)


def to_uri(path: Path) -> str:
    return path.resolve().as_uri()


class LocalStore:
    def put_file(self, local: Path, uri: str) -> str:
        target = to_path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(fd)
        try:
            try:
                os.link(local, tmp + ".lnk")  # same filesystem: no copy of large data
                os.replace(tmp + ".lnk", tmp)
            except OSError:
                shutil.copyfile(local, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return uri

    def get_file(self, uri: str, local: Path) -> Path:
        source = to_path(uri)
        if not source.is_file():
            raise NotFoundError("artifact", uri)
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, local)
        except OSError:
            shutil.copyfile(source, local)
        return local

    def put_bytes(self, data: bytes, uri: str) -> str:
        target = to_path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
        return uri

    def get_bytes(self, uri: str) -> bytes:
        source = to_path(uri)
        if not source.is_file():
            raise NotFoundError("artifact", uri)
        return source.read_bytes()

    def exists(self, uri: str) -> bool:
        return to_path(uri).exists()

    def list(self, prefix: str) -> list[str]:
        root = to_path(prefix)
        if root.is_file():
            return [prefix]
        if not root.is_dir():
            return []
        scheme = prefix.startswith("file://")
        found = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        return [to_uri(p) if scheme else str(p) for p in found]

    def join(self, base: str, *parts: str) -> str:
        if base.startswith("file://"):
            return to_uri(to_path(base).joinpath(*parts))
        return str(Path(base).joinpath(*parts))
