"""Deterministic model.tar.gz packing and safe unpacking.

Packing sorts entries and zeroes times and owners, so a seeded job yields a byte-identical
artifact on every runtime. Unpacking refuses links and paths that leave the target folder.
"""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path
from typing import BinaryIO

from mlops.core.errors import ValidationError


def pack_folder(source: Path, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(destination, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for path in sorted(source.rglob("*")):
            if not (path.is_file() or path.is_dir()) or path.is_symlink():
                continue
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(source)))
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if path.is_dir() or info.mode & 0o111 else 0o644
            if path.is_file():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return destination


def unpack_archive(archive: Path | BinaryIO, target: Path, label: str = "model.tar.gz") -> Path:
    """Unpack a path, or an open file from its current position (the bytes a caller already checked;
    ``label`` names it in errors)."""
    target.mkdir(parents=True, exist_ok=True)
    name = archive.name if isinstance(archive, Path) else label
    try:
        with (
            tarfile.open(archive, "r:*") if isinstance(archive, Path) else tarfile.open(fileobj=archive, mode="r:*")
        ) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise ValidationError("model data", f"{name} is not a readable .tar.gz: {e}") from None
    return target
