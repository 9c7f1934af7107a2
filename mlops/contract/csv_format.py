"""text/csv as SageMaker's built-in algorithms read it: no header, label in the first column.

``text/csv;label_size=0`` (and every inference payload) means no label column. Missing values
(empty fields) become NaN. A bad row is reported with its file and line.
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

import numpy as np

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError


def label_size_of(content_type: str, default: int = 1) -> int:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "label_size":
            try:
                return int(value.strip())
            except ValueError:
                raise ChannelDataError("?", "?", f"bad label_size in content type {content_type!r}") from None
    return default


def _find_bad_line(text: str, channel: str, file: str, columns: int | None) -> ChannelDataError:
    """Slow path, only after the fast reader failed: find the first line that does not parse."""
    expected = columns
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if expected is None:
            expected = len(row)
        if len(row) != expected:
            return ChannelDataError(channel, file, f"expected {expected} fields, found {len(row)}", number)
        for position, cell in enumerate(row, start=1):
            cell = cell.strip()
            if cell == "":
                continue
            try:
                float(cell)
            except ValueError:
                return ChannelDataError(channel, file, f"field {position} is not a number: {cell[:40]!r}", number)
    return ChannelDataError(channel, file, "could not be parsed as CSV")


def read_csv(stream: BinaryIO, channel: str, file: str, label_size: int = 1) -> LabeledData:
    import pandas as pd

    raw = stream.read()
    if not raw.strip():
        return LabeledData(np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.float32) if label_size else None)
    try:
        frame = pd.read_csv(io.BytesIO(raw), header=None, dtype=np.float32, engine="c", skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError) as e:
        text = raw.decode("utf-8", errors="replace")
        err = _find_bad_line(text, channel, file, None)
        if err.line is None:
            err = ChannelDataError(channel, file, f"could not be parsed as CSV: {e}")
        raise err from None
    values = frame.to_numpy(dtype=np.float32, copy=False)
    if b'"' not in raw and raw.count(b",") != values.shape[0] * (values.shape[1] - 1):
        # pandas pads short rows with NaN; a short row is a broken row, so find and name it
        raise _find_bad_line(raw.decode("utf-8", errors="replace"), channel, file, values.shape[1])
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
