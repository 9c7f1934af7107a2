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


def _concat(channel: str, parts: list[tuple[str, LabeledData]]) -> LabeledData:
    """The files of a channel as one LabeledData; they must agree on dense columns and on labels."""
    if len(parts) == 1:
        return parts[0][1]
    data = [p for _, p in parts]
    if any(not isinstance(p.X, np.ndarray) for p in data):
        import scipy.sparse as sp

        width = max(p.X.shape[1] for p in data)
        mats = [sp.csr_matrix(p.X) for p in data]
        mats = [
            m if m.shape[1] == width else sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))
            for m in mats
        ]
        X = sp.vstack(mats, format="csr")
    else:
        widths = {p.X.shape[1] for p in data}
        if len(widths) > 1:
            first, other = parts[0], next(p for p in parts if p[1].X.shape[1] != parts[0][1].X.shape[1])
            raise ChannelDataError(
                channel,
                other[0],
                f"files disagree on the number of columns: {other[1].X.shape[1]} here, "
                f"{first[1].X.shape[1]} in {first[0]}",
            )
        X = np.concatenate([p.X for p in data])
    labelled = [(file, p.y) for file, p in parts if p.y is not None]
    if not labelled:
        return LabeledData(X, None)
    first_file, first_y = labelled[0]
    for file, p in parts:
        if p.y is None:
            raise ChannelDataError(channel, file, f"the file has no labels, while {first_file} has")
        if p.y.shape[1:] != first_y.shape[1:]:
            raise ChannelDataError(
                channel, file, f"labels of {_label_width(p.y)} value(s), {_label_width(first_y)} in {first_file}"
            )
    return LabeledData(X, np.concatenate([y for _, y in labelled]))


def _label_width(y: np.ndarray) -> int:
    return 1 if y.ndim == 1 else int(y.shape[1])


def read_channel(layout: Layout, channel: ChannelConfig, epoch: int = 0, label_size: int | None = None) -> LabeledData:
    """Read a whole channel. Empty channels and bad rows raise ChannelDataError naming channel and file."""
    reader = reader_for(channel.content_type)
    labels = label_size_of(channel.content_type, channel=channel.name) if label_size is None else label_size
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
        name = str(path.relative_to(layout.data_dir))
        with open(path, "rb") as stream:
            part = reader(stream, channel.name, name, labels)
        if part.rows:
            parts.append((name, part))
    if not parts:
        raise ChannelDataError(
            channel.name, str(layout.channel_dir(channel.name)), "channel is empty: every file is empty"
        )
    return _concat(channel.name, parts)
