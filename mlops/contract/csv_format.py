"""text/csv as SageMaker's built-in algorithms read it: no header, label in the first column.

``text/csv;label_size=0`` (and every inference payload) means no label column. Missing values
(empty fields, and the strings pandas reads as missing: "NA", "nan", "null" ...) become NaN; numbers
beyond float32's range become +-inf. pandas reads a file; whatever it refuses (or pads: a short row) is
read again by an exact reader that names the first bad line, and so is a file pandas must not be given
(a NUL byte, an exponent that crashes its C parser).
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Any, BinaryIO

import numpy as np

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError


def label_size_of(content_type: str, default: int = 1, channel: str = "?") -> int:
    """The ``label_size`` parameter of a content type (a whole number, 0 for no label column)."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "label_size":
            text = value.strip()
            if not (text.isascii() and text.isdigit() and len(text) < 6):
                raise ChannelDataError(
                    channel, "?", f"bad label_size {text!r} in content type {content_type!r}: expected 0, 1, 2 ..."
                )
            return int(text)
    return default


# pandas 2.3's C parser dies (SIGSEGV) on an exponent past a C int ("1e2147483648", pandas-dev/pandas#62617,
# fixed upstream later): a file with an exponent of four digits or more is left to the exact reader.
# Its python engine and pd.to_numeric crash the same way (they share the C conversion); reading as dtype=str
# and converting with float() is safe. Every reader of CSV text in the package asks this one function first.
_LONG_EXPONENT = re.compile(rb"[eE][+-]?[0-9]{4}")
_LONG_EXPONENT_TEXT = re.compile(r"[eE][+-]?[0-9]{4}")


def pandas_can_parse(raw: bytes | str) -> bool:
    """Whether pandas may be given ``raw`` to parse numbers from (read_csv with either engine, to_numeric):
    no NUL byte (it ends a field there, so a NUL before "1" would read as NaN) and no exponent long enough
    to crash it."""
    if isinstance(raw, str):
        return "\0" not in raw and _LONG_EXPONENT_TEXT.search(raw) is None
    return b"\0" not in raw and _LONG_EXPONENT.search(raw) is None


# What pandas reads as a missing value by default, stated here so that both paths below read the same.
MISSING = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
_MISSING = frozenset(MISSING)


def number(cell: str) -> float:
    """One field's value: NaN for a missing value, else what ``float`` reads from ASCII text without
    Python's digit separators ("1_0"): what pandas reads, and more of the same (1e400, "+nan", "NAN")."""
    text = cell.strip()
    if text in _MISSING:
        return math.nan
    if not text.isascii() or "_" in text:
        raise ValueError(text)
    return float(text)


def exact_rows(
    raw: bytes, channel: str, file: str, columns: int | None = None, dtype: type[np.floating[Any]] = np.float32
) -> np.ndarray:
    """The slow, exact reader (the csv module and ``number``), used when pandas refused the file or
    padded a short row: the rows, or a ChannelDataError naming the first line that does not parse.

    Lines end at LF, CRLF or a lone CR, and blank lines are skipped, as for pandas. The csv module's own
    errors (a field over its size limit) become errors of the file at the line it had reached."""
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig", errors="replace"), newline=""))
    rows: list[list[float]] = []
    line = 1  # where the next record starts (a quoted field may hold line ends)
    try:
        for row in reader:
            line, record_line = reader.line_num + 1, line
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if columns is None:
                columns = len(row)
            if len(row) != columns:
                raise ChannelDataError(channel, file, f"expected {columns} fields, found {len(row)}", record_line)
            values = []
            for position, cell in enumerate(row, start=1):
                try:
                    values.append(number(cell))
                except ValueError:
                    raise ChannelDataError(
                        channel, file, f"field {position} is not a number: {cell.strip()[:40]!r}", record_line
                    ) from None
            rows.append(values)
    except csv.Error as e:
        raise ChannelDataError(channel, file, f"could not be parsed as CSV: {e}", line) from None
    with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as pandas has it
        return np.array(rows, dtype=dtype).reshape(len(rows), columns or 0)


def _short_row(raw: bytes, rows: int, columns: int) -> bool:
    """Whether a row of the file pandas read has fewer than ``columns`` fields. Without quotes, commas
    tell; with them, the csv module counts the fields of each record (no numbers parsed)."""
    if b'"' not in raw:
        return raw.count(b",") != rows * (columns - 1)
    records = csv.reader(io.StringIO(raw.decode("utf-8-sig", errors="replace"), newline=""))
    try:
        return any(len(r) != columns and (len(r) > 1 or (r and r[0].strip())) for r in records)
    except csv.Error:
        return True


def read_csv(stream: BinaryIO, channel: str, file: str, label_size: int = 1) -> LabeledData:
    import pandas as pd

    raw = stream.read()
    if not raw.strip():
        return LabeledData(np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.float32) if label_size else None)
    values: np.ndarray | None = None
    if pandas_can_parse(raw):
        try:
            with np.errstate(over="ignore"):  # beyond float32's range is +-inf
                frame = pd.read_csv(
                    io.BytesIO(raw),
                    header=None,
                    dtype=np.float32,
                    engine="c",
                    skip_blank_lines=True,
                    keep_default_na=False,
                    na_values=list(MISSING),
                )
            values = frame.to_numpy(dtype=np.float32, copy=False)
        except (ValueError, pd.errors.ParserError):
            pass  # the exact reader names the line, or reads what pandas refused (1e400, "+nan")
    if values is None:
        values = exact_rows(raw, channel, file, None)
    elif _short_row(raw, values.shape[0], values.shape[1]):
        # pandas pads short rows with NaN; a short row is a broken row, so find and name it
        values = exact_rows(raw, channel, file, values.shape[1])
    if label_size:
        if values.shape[1] < 2:
            raise ChannelDataError(channel, file, "needs a label column and at least one feature", 1)
        labels = values[:, 0]
        if np.isnan(labels).any():
            line = int(np.flatnonzero(np.isnan(labels))[0]) + 1
            raise ChannelDataError(channel, file, "the label (first column) is missing", line)
        return LabeledData(np.ascontiguousarray(values[:, 1:]), labels.copy())
    return LabeledData(values, None)


def encode_csv(rows: np.ndarray) -> bytes:
    """Predictions or rows as CSV text, one line per row."""
    array = np.asarray(rows)
    if array.ndim == 1:
        return ("\n".join(f"{v:.9g}" for v in array.tolist()) + "\n").encode()
    return ("\n".join(",".join(f"{v:.9g}" for v in row) for row in array.tolist()) + "\n").encode()
