"""Deterministic model.tar.gz packing and safe unpacking.

Packing sorts entries and zeroes times and owners, so a seeded job yields a byte-identical
artifact on every runtime; the archive itself is created 0600.

Unpacking trusts nothing in the archive (a model may come from anyone) and does not lean on
``tarfile``'s extraction filters, whose known bypasses are fixed only in recent patch releases: it
streams the members once and refuses, naming the member, anything but regular files and folders
(symbolic and hard links, devices, FIFOs, sparse files), absolute names and names with a ``..``
part, more than ``max_members`` members and more than ``max_bytes`` unpacked (a decompression bomb
stops at the limit, not at the disk's end). Files are created, never opened through a link, with
modes 0644 or 0755 and folders 0755, so a server container of any user can read the model; the
folder the model is unpacked into keeps everyone else out. On refusal, what was unpacked is removed.
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from mlops.core.errors import ValidationError
from mlops.core.files import private_opener

MAX_MEMBERS = 100_000
MAX_UNPACKED_BYTES = 16 * 1024**3
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def pack_folder(source: Path, destination: Path, inside: Path | None = None) -> Path:
    """Pack the regular files and folders under ``source`` (an algorithm's /opt/ml/model, say, which
    the algorithm controls): a link is never followed, neither one inside ``source`` nor ``source``
    itself, nor any folder between ``inside`` (a root the caller trusts) and ``source``."""
    linked = source
    while True:
        if linked.is_symlink():
            raise ValidationError(
                str(source), f"{linked} is a symbolic link, not a folder; refusing to pack what it points to"
            )
        if inside is None or linked == inside or linked.parent == linked:
            break
        linked = linked.parent
    destination.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(destination, "wb", opener=private_opener) as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for path in sorted(source.rglob("*")):  # rglob does not descend into linked folders
            mode = os.lstat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                continue  # links, FIFOs, devices, sockets
            info = tarfile.TarInfo(str(path.relative_to(source)))  # times, owners zero; hard links as files
            info.mode = 0o755 if stat.S_ISDIR(mode) or mode & 0o111 else 0o644
            if stat.S_ISDIR(mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as f:
                opened = os.fstat(fd)
                if stat.S_ISREG(opened.st_mode):  # still the file that was listed
                    info.size = opened.st_size
                    tar.addfile(info, f)
    return destination


def _kind(member: tarfile.TarInfo) -> str | None:
    """What makes ``member`` unacceptable, or None for a regular file or a folder."""
    if member.issym():
        return f"a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"a hard link (to {member.linkname!r})"
    if member.ischr() or member.isblk():
        return "a device file"
    if member.isfifo():
        return "a FIFO"
    if member.issparse():
        return "a sparse file"
    if not (member.isreg() or member.isdir()):
        return f"of tar type {member.type!r}"
    return None


def _parts(archive: str, member: tarfile.TarInfo) -> tuple[str, ...]:
    name = member.name
    path = PurePosixPath(name)
    if path.is_absolute():
        raise ValidationError("model data", f"{archive}: member {name!r} has an absolute path; refusing to unpack")
    if ".." in path.parts:
        raise ValidationError(
            "model data", f"{archive}: member {name!r} has a '..' part (it may leave the folder); refusing to unpack"
        )
    return path.parts


class _Unpacking:
    """One extraction into ``target``, remembering what it made so a refusal can take it back."""

    def __init__(self, archive: str, target: Path, max_members: int, max_bytes: int) -> None:
        self.archive = archive
        self.root = target.resolve()
        self.max_members = max_members
        self.max_bytes = max_bytes
        self.made: list[Path] = []
        self.members = 0
        self.total = 0

    def refuse(self, member: tarfile.TarInfo, why: str) -> ValidationError:
        return ValidationError("model data", f"{self.archive}: member {member.name!r} {why}; refusing to unpack")

    def folder(self, path: Path) -> None:
        missing = []
        while not path.exists() and path != self.root:
            missing.append(path)
            path = path.parent
        for folder in reversed(missing):
            folder.mkdir(0o755)
            os.chmod(folder, 0o755)
            self.made.append(folder)
        if not path.resolve().is_relative_to(self.root) or path.is_symlink():
            raise ValidationError("model data", f"{self.archive}: {path} is not inside {self.root}")

    def member(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise self.refuse(member, f"is past the limit of {self.max_members} members per model archive")
        kind = _kind(member)
        if kind is not None:
            raise self.refuse(member, f"is {kind}; a model archive may hold only regular files and folders")
        parts = _parts(self.archive, member)
        if not parts:  # "." or "./": the target itself
            return
        self.total += member.size
        if self.total > self.max_bytes:
            raise self.refuse(
                member, f"takes the unpacked size past the limit of {self.max_bytes} bytes (a decompression bomb?)"
            )
        path = self.root.joinpath(*parts)
        if member.isdir():
            self.folder(path)
            return
        self.folder(path.parent)
        source = tar.extractfile(member)
        if source is None:
            raise self.refuse(member, "has no data")
        try:
            fd = os.open(path, _WRITE, 0o644)
        except FileExistsError:
            raise self.refuse(member, "appears twice (or names a folder of another member)") from None
        self.made.append(path)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
            os.fchmod(fd, 0o755 if member.mode & 0o111 else 0o644)

    def undo(self) -> None:
        for path in reversed(self.made):
            try:
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    path.rmdir()
                else:
                    path.unlink()
            except OSError:
                continue


def top_level_names(archive: Path, max_members: int = MAX_MEMBERS) -> set[str]:
    """The names at the top of a .tar.gz (``xgboost-model``, ``model.json`` …), read from the member
    headers only; ValidationError if it is not a readable archive or holds more than ``max_members``."""
    names: set[str] = set()
    try:
        with tarfile.open(archive, "r:*") as tar:
            for count, member in enumerate(tar, start=1):
                if count > max_members:
                    raise ValidationError(archive.name, f"more than {max_members} members")
                top = PurePosixPath(member.name).parts
                if top and top[0] not in (".", ""):
                    names.add(top[0])
                elif len(top) > 1:
                    names.add(top[1])
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise ValidationError("model data", f"{archive.name} is not a readable .tar.gz: {e}") from None
    return names


def unpack_archive(
    archive: Path | BinaryIO,
    target: Path,
    label: str = "model.tar.gz",
    max_members: int = MAX_MEMBERS,
    max_bytes: int = MAX_UNPACKED_BYTES,
) -> Path:
    """Unpack the .tar.gz (or .tar, .tar.bz2, .tar.xz) ``archive`` — a path, or an open file from its
    current position (the bytes a caller already checked; ``label`` names it in errors) — into
    ``target``; ValidationError naming the archive and the member for anything refused (see above)."""
    name = archive.name if isinstance(archive, Path) else label
    if not target.exists():
        target.mkdir(parents=True)
        os.chmod(target, 0o755)
    unpacking = _Unpacking(name, target, max_members, max_bytes)
    try:
        with (
            tarfile.open(archive, "r|*") if isinstance(archive, Path) else tarfile.open(fileobj=archive, mode="r|*")
        ) as tar:
            for member in tar:
                unpacking.member(tar, member)
    except ValidationError:
        unpacking.undo()
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        unpacking.undo()
        raise ValidationError("model data", f"{name} is not a readable .tar.gz: {e}") from None
    return target
