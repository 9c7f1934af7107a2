"""The contract's text/csv as files on this machine: headerless, all numbers, the label first.

The commonest newcomer's mistake is a table with a header row (what `mlops data ingest` takes) where a
label-first split is expected (what `mlops data split` writes). It is caught from the first line alone,
before a job starts or a model server is asked anything.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mlops.core.errors import ValidationError
from mlops.core.key_value import is_number

FIRST_LINE_BYTES = 64 * 1024  # enough for any header; a file is never read further for this check
SHOWN = 3  # fields of the offending line shown in the message

HEADERLESS = "the contract's CSV is headerless, label first"


def is_text_csv(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in ("text/csv", "csv")


def first_line(path: Path) -> str:
    with open(path, "rb") as f:
        raw = f.readline(FIRST_LINE_BYTES)
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")


def _fields(line: str) -> list[str]:
    return [f.strip() for f in next(csv.reader([line]), [])]


def _shown(fields: list[str]) -> str:
    return ",".join(fields[:SHOWN]) + (",…" if len(fields) > SHOWN else "")


def first_line_problem(path: Path) -> str | None:
    """Why line 1 of ``path`` is not a row of the contract's CSV (a header, words), or None."""
    fields = _fields(first_line(path))
    words = [f for f in fields if f and not is_number(f)]
    if not words:
        return None
    if len(words) == len([f for f in fields if f]):
        return f"{path} line 1 looks like a header ({_shown(fields)})"
    position = next(i for i, f in enumerate(fields, start=1) if f and not is_number(f))
    return f"{path} line 1 has words where numbers belong (field {position}: {fields[position - 1][:40]!r})"


def first_channel_file(path: Path) -> Path | None:
    """The file a channel's reader opens first: the path itself, or the first file of a folder (sorted,
    hidden files skipped, as the contract lists a channel's files)."""
    if path.is_file():
        return path
    if path.is_dir():
        return next(iter(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))), None)
    return None


def refuse_unless_label_first(path: Path, field: str, hint: str) -> None:
    """Raise ``ValidationError(field, …)`` when line 1 of ``path`` is not numbers (a header, most often)."""
    problem = first_line_problem(path)
    if problem is not None:
        raise ValidationError(field, f"{problem}: {HEADERLESS}; {hint}")
