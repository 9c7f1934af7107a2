"""application/jsonlines: one JSON instance per line, in SageMaker's shapes.

A line is ``{"features": [1.5, 2.0], "label": 1}``, a bare array ``[1.5, 2.0]`` (features only), or the
sparse form ``{"features": {"keys": [3, 17], "shape": [100], "values": [1.0, 2.5]}}``; any of the object
forms may be wrapped as ``{"data": {...}}``. ``null`` features become NaN. The label is a number or a list
of numbers (y gets shape (n, k) then); y is None when no line has a label or label_size=0.
"""

from __future__ import annotations

import json
import math
from typing import Any, BinaryIO

import numpy as np

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError


class RowStack:
    """Feature rows, dense or sparse, stacked into a float32 array or (if any row is sparse) a CSR matrix."""

    def __init__(self) -> None:
        self._values: list[np.ndarray] = []
        self._keys: list[np.ndarray | None] = []
        self._width: int | None = None  # of dense rows, which must agree
        self._sparse_width = 0

    def add_dense(self, values: np.ndarray) -> None:
        if self._width is None:
            self._width = len(values)
        elif len(values) != self._width:
            raise ValueError(f"expected {self._width} features, found {len(values)}")
        self._values.append(values)
        self._keys.append(None)

    def add_sparse(self, values: np.ndarray, keys: np.ndarray, width: int) -> None:
        if len(values) != len(keys):
            raise ValueError(f"sparse row has {len(values)} values but {len(keys)} keys")
        if len(keys) and int(keys.max()) >= width:
            raise ValueError(f"sparse key {int(keys.max())} out of range for {width} features")
        self._values.append(values)
        self._keys.append(keys)
        self._sparse_width = max(self._sparse_width, width)

    def __len__(self) -> int:
        return len(self._values)

    def matrix(self) -> Any:
        rows = len(self._values)
        if all(k is None for k in self._keys):
            width = self._width or 0
            if not rows:
                return np.zeros((0, 0), dtype=np.float32)
            return np.concatenate(self._values).astype(np.float32, copy=False).reshape(rows, width)
        import scipy.sparse as sp

        keys = [np.arange(len(v)) if k is None else k for v, k in zip(self._values, self._keys, strict=True)]
        indptr = np.zeros(rows + 1, dtype=np.int64)
        np.cumsum([len(k) for k in keys], out=indptr[1:])
        width = max(self._width or 0, self._sparse_width)
        indices = np.concatenate(keys).astype(np.int64) if keys else np.zeros(0, dtype=np.int64)
        data = np.concatenate(self._values).astype(np.float32, copy=False)
        return sp.csr_matrix((data, indices, indptr), shape=(rows, width))


def _numbers(value: Any, what: str, dtype: type[np.generic] = np.float32) -> np.ndarray:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of numbers, found {type(value).__name__}")
    try:
        with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as in the other readers
            array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} must be a list of numbers") from None
    if array.ndim != 1:
        raise ValueError(f"{what} must be a flat list of numbers")
    return array


def add_instance(stack: RowStack, instance: Any) -> Any:
    """Add one instance's features to ``stack``; returns its label, None if it has none."""
    label = None
    if isinstance(instance, dict):
        holder = instance["data"] if "data" in instance and "features" not in instance else instance
        if not isinstance(holder, dict) or "features" not in holder:
            raise ValueError('an object instance needs a "features" key')
        label = holder.get("label", instance.get("label"))
        instance = holder["features"]
    if isinstance(instance, dict):
        values = _numbers(instance.get("values"), '"values"')
        keys = _numbers(instance.get("keys", []), '"keys"', np.int64)
        shape = _numbers(instance.get("shape"), '"shape"', np.int64)
        width = math.prod(shape.tolist())
        if (keys < 0).any() or (shape < 0).any() or width >= 2**62:
            raise ValueError('"keys" and "shape" must be non-negative, and the shape not absurdly large')
        stack.add_sparse(values, keys, width)
    else:
        stack.add_dense(_numbers(instance, "features"))
    return label


def read_jsonlines(stream: BinaryIO, channel: str, file: str, label_size: int = 1) -> LabeledData:
    stack = RowStack()
    labels: list[np.ndarray] = []
    missing_label: int | None = None
    for number, line in enumerate(stream.read().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            label = add_instance(stack, json.loads(line))
            if not label_size:
                continue
            if label is None:
                missing_label = missing_label or number
            else:
                values = _numbers(label if isinstance(label, list) else [label], '"label"')
                if labels and len(values) != len(labels[0]):
                    raise ValueError(f"label has {len(values)} values, earlier labels have {len(labels[0])}")
                labels.append(values)
        except json.JSONDecodeError as e:
            raise ChannelDataError(channel, file, f"not valid JSON: {e.msg} (column {e.colno})", number) from None
        except (ValueError, UnicodeDecodeError) as e:
            raise ChannelDataError(channel, file, str(e), number) from None
        except RecursionError:
            raise ChannelDataError(channel, file, "JSON nested too deeply", number) from None
        if labels and missing_label is not None:
            raise ChannelDataError(channel, file, 'no "label", while other lines have one', missing_label)
    y = None
    if labels:
        y = np.stack(labels)
        if y.shape[1] == 1:
            y = y[:, 0].copy()
    return LabeledData(stack.matrix(), y)
