"""Files written whole or not at all: the text goes to a temporary file of its own beside the target
(unique per writer, so concurrent writers never share one) and is renamed into place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
