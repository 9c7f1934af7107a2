"""Files written whole or not at all: the text goes to a temporary file of its own beside the target
(unique per writer, so concurrent writers never share one) and is renamed into place. And the one way a
store turns a name into a path: ``path_under(root, *parts)``, refused if it would leave ``root``. And the
one streaming sha256 of a file, ``sha256_file``."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops.core.errors import ValidationError


def temp_beside(path: Path, text: str, durable: bool = False) -> Path:
    """A new hidden file in ``path``'s folder holding ``text`` (fsynced when ``durable``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    return Path(tmp)


def sync_folder(folder: Path) -> None:
    """fsync a folder, making the entries created, renamed or removed in it durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str, durable: bool = False) -> None:
    """Replace ``path`` with ``text`` in one rename: readers see the old file or the new one. A ``durable``
    write also survives a crash of the machine: the file is fsynced before the rename and its folder
    after it (a rename is only durable once the folder's entry is)."""
    os.replace(temp_beside(path, text, durable), path)
    if durable:
        sync_folder(path.parent)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to (by any writer, e.g. ``DataFrame.to_csv``);
    renamed onto ``path`` when the block ends without error, removed otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def path_under(root: Path, *parts: str, field: str = "path", follow_links: bool = True) -> Path:
    """``root/parts…`` resolved (symlinks followed), refused with ``ValidationError(field)`` unless it lies
    strictly inside ``root`` resolved: a ``..``, an absolute part or a symlink cannot lead a name out of
    the folder a store keeps its records in. ``follow_links=False`` checks the path as written (``..``
    and absolute parts) and keeps a link its owner placed in the folder (a catalog entry)."""
    base = root.resolve()
    joined = base.joinpath(*parts)
    if "\0" in str(joined):
        raise ValidationError(field, f"{'/'.join(parts)!r} holds a NUL byte")
    try:
        target = joined.resolve() if follow_links else Path(os.path.normpath(joined))
    except (ValueError, OSError) as e:  # a symlink loop
        raise ValidationError(field, f"{'/'.join(parts)!r} is not a usable path: {e}") from None
    if target == base or not target.is_relative_to(base):
        raise ValidationError(field, f"{'/'.join(parts)!r} leads outside {base}")
    return target


# Files the platform writes about a job or an endpoint (records, logs, captured data, archives) are
# their owner's alone: processes that write them set PRIVATE_UMASK once, and files made with os.open
# get PRIVATE_FILE_MODE explicitly (mkstemp, used above, already makes 0600 files).
PRIVATE_UMASK = 0o077
PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for ``open()`` that creates the file 0600 whatever the process's umask."""
    return os.open(path, flags | os.O_CLOEXEC, PRIVATE_FILE_MODE)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file's bytes, read in chunks (a model archive may not fit in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
