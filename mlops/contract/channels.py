"""Reading a training channel in File mode (every file under /opt/ml/input/data/<channel>) or
Pipe mode (the FIFO /opt/ml/input/data/<channel>_<epoch>), whatever its content type."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mlops.contract.config import ChannelConfig
from mlops.contract.csv_format import label_size_of, read_csv
from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError, UnsupportedContentTypeError
from mlops.contract.layout import Layout

Reader = Callable[[BinaryIO, str, str, int], LabeledData]


def reader_for(content_type: str) -> Reader:
    base = content_type.split(";")[0].strip().lower()
    if base in ("text/csv", "csv"):
        return read_csv
    if base in ("application/x-recordio-protobuf", "application/x-recordio"):
        from mlops.contract.recordio import read_recordio_protobuf

        return read_recordio_protobuf
    if base in ("text/libsvm", "text/x-libsvm", "libsvm"):
        from mlops.contract.libsvm_format import read_libsvm

        return read_libsvm
    if base in ("application/jsonlines", "application/json-lines", "application/x-jsonlines"):
        from mlops.contract.jsonlines_format import read_jsonlines

        return read_jsonlines
    raise UnsupportedContentTypeError(f"content type {content_type!r} is not supported")


def channel_files(layout: Layout, channel: str) -> list[Path]:
    folder = layout.channel_dir(channel)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _concat(parts: list[LabeledData]) -> LabeledData:
    if len(parts) == 1:
        return parts[0]
    if any(not isinstance(p.X, np.ndarray) for p in parts):
        import scipy.sparse as sp

        width = max(p.X.shape[1] for p in parts)
        mats = [sp.csr_matrix(p.X) for p in parts]
        mats = [
            m if m.shape[1] == width else sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))
            for m in mats
        ]
        X = sp.vstack(mats, format="csr")
    else:
        widths = {p.X.shape[1] for p in parts}
        if len(widths) > 1:
            raise ChannelDataError("?", "?", f"files disagree on the number of columns: {sorted(widths)}")
        X = np.concatenate([p.X for p in parts])
    ys = [p.y for p in parts]
    y = None if any(v is None for v in ys) else np.concatenate([v for v in ys if v is not None])
    return LabeledData(X, y)


def read_channel(layout: Layout, channel: ChannelConfig, epoch: int = 0, label_size: int | None = None) -> LabeledData:
    """Read a whole channel. Empty channels and bad rows raise ChannelDataError naming channel and file."""
    reader = reader_for(channel.content_type)
    labels = label_size_of(channel.content_type) if label_size is None else label_size
    if channel.input_mode == "Pipe":
        fifo = layout.pipe_path(channel.name, epoch)
        if not fifo.exists():
            raise ChannelDataError(channel.name, str(fifo.name), "pipe not found (is the channel in Pipe mode?)")
        with open(fifo, "rb") as stream:
            data = reader(stream, channel.name, fifo.name, labels)
        if data.rows == 0:
            raise ChannelDataError(channel.name, fifo.name, "channel is empty: the pipe delivered no records")
        return data
    files = channel_files(layout, channel.name)
    if not files:
        raise ChannelDataError(channel.name, str(layout.channel_dir(channel.name)), "channel is empty: no files")
    parts = []
    for path in files:
        with open(path, "rb") as stream:
            part = reader(stream, channel.name, str(path.relative_to(layout.data_dir)), labels)
        if part.rows:
            parts.append(part)
    if not parts:
        raise ChannelDataError(
            channel.name, str(layout.channel_dir(channel.name)), "channel is empty: every file is empty"
        )
    try:
        return _concat(parts)
    except ChannelDataError as e:
        raise ChannelDataError(channel.name, str(layout.channel_dir(channel.name)), str(e).split(": ", 1)[-1]) from None
