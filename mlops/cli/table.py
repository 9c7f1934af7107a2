"""The one table printer of the listings: a header row, column widths from the data, at most 120
characters (or the terminal's width when narrower).

A column may be cut with ``…`` (at its end, or at its start for paths, whose end says most); a column
that holds what the next command takes (a job or dataset name) is never cut.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

MAX_WIDTH = 120
GAP = "  "
ELLIPSIS = "…"


@dataclass(frozen=True)
class Column:
    header: str
    align: Literal["<", ">"] = "<"
    max_width: int | None = None  # longer cells are cut to this even when the line has room
    elide: Literal["end", "start", "never"] = "end"  # where a cut cell loses its text; never: not cut


def table_width() -> int:
    return min(MAX_WIDTH, shutil.get_terminal_size((MAX_WIDTH, 24)).columns)


def cut(text: str, width: int, elide: Literal["end", "start", "never"] = "end") -> str:
    if len(text) <= width or elide == "never":
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    return ELLIPSIS + text[-(width - 1) :] if elide == "start" else text[: width - 1] + ELLIPSIS


def _widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    widths = []
    for i, column in enumerate(columns):
        natural = max([len(column.header), *(len(row[i]) for row in rows)])
        if column.max_width is not None and column.elide != "never":
            natural = min(natural, max(column.max_width, len(column.header)))
        widths.append(natural)
    excess = sum(widths) + len(GAP) * (len(columns) - 1) - width
    while excess > 0:  # take one character at a time from the widest column that may be cut
        shrinkable = [i for i, c in enumerate(columns) if c.elide != "never" and widths[i] > max(len(c.header), 2)]
        if not shrinkable:
            break  # only uncuttable columns are left: a name is worth more than the width
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def render_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None = None) -> list[str]:
    """The lines of the table (header first), each at most ``width`` characters unless an uncuttable
    column alone is wider."""
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells for {len(columns)} columns: {row!r}")
    widths = _widths(columns, rows, table_width() if width is None else width)
    lines = []
    for cells in ([c.header for c in columns], *rows):
        parts = [f"{cut(cell, w, c.elide):{c.align}{w}}" for cell, w, c in zip(cells, widths, columns, strict=True)]
        lines.append(GAP.join(parts).rstrip())
    return lines


def print_table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    for line in render_table(columns, rows):
        print(line)
