"""The local-folder artifact store: plain paths or file:// URIs; writes are atomic renames."""

from __future__ import annotations

import errno
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
        try:
            # a copy, never a link: the caller may change its file afterwards (append to a CSV it ingested)
            # and a stored, content-addressed object must not change with it
            with os.fdopen(fd, "wb") as dst, open(local, "rb") as src:
                copy_contents(src.fileno(), dst.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return uri

    def get_file(self, uri: str, local: Path) -> Path:
        """A copy of the object at ``local``, never a link to it: whoever gets a file may change it
        (a training job may write to its input) without changing the stored object. The copy is a
        reflink where the filesystem shares blocks (btrfs, XFS) and an in-kernel copy elsewhere."""
        source = to_path(uri)
        if not source.is_file():
            raise NotFoundError("artifact", uri)
        local.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=local.parent, prefix=f".{local.name}.")
        try:
            with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
                copy_contents(src.fileno(), dst.fileno())
            os.replace(tmp, local)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
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


_NO_COPY_FILE_RANGE = (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM)


def copy_contents(src: int, dst: int) -> None:
    """Copy the file ``src`` into the empty file ``dst`` (descriptors) with ``copy_file_range``, which
    shares blocks where the filesystem can and stays in the kernel elsewhere; read/write where the
    call is not supported (another filesystem on an older kernel, some network filesystems)."""
    size, copied = os.fstat(src).st_size, 0
    while copied < size:
        try:
            n = os.copy_file_range(src, dst, size - copied)
        except (OSError, AttributeError) as e:  # AttributeError: not Linux
            if copied or (isinstance(e, OSError) and e.errno not in _NO_COPY_FILE_RANGE):
                raise
            with open(src, "rb", closefd=False) as s, open(dst, "wb", closefd=False) as d:
                shutil.copyfileobj(s, d, 1 << 20)
            return
        if n == 0:  # the source shrank meanwhile
            return
        copied += n
