"""text/libsvm: ``<label> <index>:<value> <index>:<value> ...`` per line, read into a float32 CSR matrix.

Indices are taken as given, as XGBoost does: index i is column i, and the matrix has max(index) + 1
columns. A 1-based file therefore gets an all-zero column 0; this keeps training data, CSV payloads and
libsvm payloads aligned however the data was numbered (no auto-detection that could differ between a
training file and a single-row request). With label_size=0 the lines hold features only. Blank lines and
``#`` comments are skipped; instance weights (``label:weight``) and ``qid:`` are not supported.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError


def read_libsvm(stream: BinaryIO, channel: str, file: str, label_size: int = 1) -> LabeledData:
    if label_size not in (0, 1):
        raise ChannelDataError(channel, file, f"libsvm holds one label per line, not label_size={label_size}")
    labels: list[float] = []
    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    for number, line in enumerate(stream.read().splitlines(), start=1):
        tokens = line.split(b"#", 1)[0].split()
        if not tokens:
            continue
        if label_size:
            head = tokens.pop(0)
            if b":" in head:
                raise ChannelDataError(channel, file, f"expected a label first, found {_show(head)}", number)
            try:
                labels.append(float(head))
            except ValueError:
                raise ChannelDataError(channel, file, f"the label is not a number: {_show(head)}", number) from None
        for token in tokens:
            index, colon, value = token.partition(b":")
            try:
                if not colon or index == b"qid":
                    raise ValueError
                column = int(index)
                if not 0 <= column < 2**62:
                    raise ValueError
                indices.append(column)
                values.append(float(value))
            except ValueError:
                raise ChannelDataError(
                    channel, file, f"expected index:value with an index >= 0, found {_show(token)}", number
                ) from None
        indptr.append(len(indices))
    import scipy.sparse as sp

    rows, columns = len(indptr) - 1, max(indices, default=-1) + 1
    with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as in the other readers
        data, y = np.array(values, dtype=np.float32), np.array(labels, dtype=np.float32)
    structure = np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)
    X = sp.csr_matrix((data, *structure), shape=(rows, columns))
    return LabeledData(X, y if label_size else None)


def _show(token: bytes) -> str:
    return repr(token[:40].decode("utf-8", errors="replace"))
