"""One instance (one row of features) in the JSON shapes SageMaker's built-in algorithms read.

SageMaker's "Common data formats for inference" page (and the JSON Lines training format) name these
shapes of one instance; every JSON or JSON Lines reader and request decoder of the contract reads them
here, so they all agree:

- a bare array of numbers: ``[1.5, 16.0, 14.0, 23.0]`` (dense);
- ``{"features": [1.5, 16.0, ...]}``, or the same wrapped: ``{"data": {"features": [...]}}``;
- the protocol-buffers equivalent, wrapped or not: ``{"data": {"features": {"values": [...]}}}`` (dense:
  no keys, or empty ones; a shape, if given, must hold as many values), or sparse
  ``{"data": {"features": {"keys": [26, 182], "shape": [2000], "values": [1, 4]}}}``. A sparse instance
  may leave the shape out (or empty): its keys then index into the model's features (``width``), or,
  where the reader does not know that, the row is as wide as its highest key.

Beside ``features`` an instance may hold ``label`` (training data) and ``configuration`` (SageMaker's
per-request parameters; ignored). ``null`` values are missing values (NaN). Keys are whole numbers in
``0 .. width-1``, each at most once; an error says which field is wrong and how (the caller names the
instance or line).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Wider than this is no feature vector; refused before anything of that size is allocated.
MAX_WIDTH = 2**31 - 1


class RowStack:
    """Feature rows, dense or sparse, stacked into a float32 array or (if any row is sparse) a CSR matrix.

    ``width``: the model's feature count when the reader knows it; dense rows must have that many
    values, sparse keys must be below it, and a sparse matrix is that wide."""

    def __init__(self, width: int | None = None) -> None:
        self.width = width
        self._values: list[np.ndarray] = []
        self._keys: list[np.ndarray | None] = []
        self._dense_width: int | None = None  # of dense rows, which must agree
        self._sparse_width = 0

    def add_dense(self, values: np.ndarray, field: str = '"features"') -> None:
        expected = self._dense_width
        if self.width is not None and len(values) != self.width:
            raise ValueError(f"{field} holds {len(values)} values; the model has {self.width} features")
        if expected is not None and len(values) != expected:
            raise ValueError(f"expected {expected} features, found {len(values)} in {field}")
        self._dense_width = len(values)
        self._values.append(values)
        self._keys.append(None)

    def add_sparse(self, values: np.ndarray, keys: np.ndarray, width: int | None, field: str = '"features"') -> None:
        """``width``: the instance's own shape, None when it gave none."""
        if len(values) != len(keys):
            raise ValueError(f"{field} has {len(values)} values but {len(keys)} keys")
        if width is not None and self.width is not None and width > self.width:
            raise ValueError(f'{field} has "shape" [{width}], but the model has {self.width} features')
        limit = width if width is not None else self.width
        if len(keys):
            highest = int(keys.max())
            if limit is not None and highest >= limit:
                raise ValueError(f"{field}: key {highest} is out of range for {limit} features (keys count from 0)")
            if len(keys) > 1:
                order = np.argsort(keys, kind="stable")
                keys, values = keys[order], values[order]
                repeated = np.flatnonzero(keys[1:] == keys[:-1])
                if len(repeated):
                    raise ValueError(f"{field}: key {int(keys[repeated[0]])} is given more than once")
        row_width = width if width is not None else (int(keys.max()) + 1 if len(keys) else 0)
        self._values.append(values)
        self._keys.append(keys)
        self._sparse_width = max(self._sparse_width, row_width)

    def __len__(self) -> int:
        return len(self._values)

    def matrix(self) -> Any:
        rows = len(self._values)
        if all(k is None for k in self._keys):
            if not rows:
                return np.zeros((0, self.width or 0), dtype=np.float32)
            width = self._dense_width or 0
            return np.concatenate(self._values).astype(np.float32, copy=False).reshape(rows, width)
        import scipy.sparse as sp

        keys = [np.arange(len(v)) if k is None else k for v, k in zip(self._values, self._keys, strict=True)]
        indptr = np.zeros(rows + 1, dtype=np.int64)
        np.cumsum([len(k) for k in keys], out=indptr[1:])
        width = self.width if self.width is not None else max(self._dense_width or 0, self._sparse_width)
        indices = np.concatenate(keys).astype(np.int64)
        data = np.concatenate(self._values).astype(np.float32, copy=False)
        return sp.csr_matrix((data, indices, indptr), shape=(rows, width))


def numbers(value: Any, field: str, dtype: type[np.generic] = np.float32) -> np.ndarray:
    """A flat list of numbers (``null`` is NaN) as a 1-d array, or a ValueError naming ``field``."""
    if not isinstance(value, list):
        raise ValueError(f"{field} must be a list of numbers, found {_kind(value)}")
    try:
        with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as in the other readers
            array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{field} must be a list of numbers") from None
    if array.ndim != 1:
        raise ValueError(f"{field} must be a flat list of numbers")
    return array


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _whole_numbers(value: Any, field: str, low: int) -> np.ndarray:
    """A list of whole numbers >= ``low`` (and below MAX_WIDTH) as int64, checked one by one: no float
    is truncated, no bool passes for 0/1, nothing is big enough to overflow."""
    if not isinstance(value, list):
        raise ValueError(f"{field} must be a list of whole numbers, found {_kind(value)}")
    for item in value:
        if type(item) is not int and not (isinstance(item, float) and item.is_integer()):
            raise ValueError(f"{field} must hold whole numbers, found {item!r:.40}")
        if not low <= item <= MAX_WIDTH:
            raise ValueError(f"{field} holds {item!r:.40}, outside {low} .. {MAX_WIDTH}")
    return np.asarray(value, dtype=np.int64)


def _features(holder: dict[str, Any]) -> Any:
    if "features" not in holder:
        found = ", ".join(sorted(map(str, holder))[:5]) or "none"
        raise ValueError(f'an object instance needs a "features" key (keys found: {found})')
    return holder["features"]


def add_instance(stack: RowStack, instance: Any) -> Any:
    """Add one instance's features to ``stack``; returns its label, None if it has none."""
    label = None
    field = '"features"'
    if isinstance(instance, dict):
        if "features" not in instance and "data" in instance:
            if not isinstance(instance["data"], dict):
                raise ValueError(f'"data" must be an object holding "features", found {_kind(instance["data"])}')
            features = _features(instance["data"])
            label = instance["data"].get("label", instance.get("label"))
            field = '"data.features"'
        else:
            features = _features(instance)
            label = instance.get("label")
    elif isinstance(instance, list):
        features = instance
        field = "the instance"
    else:
        found = _kind(instance)
        raise ValueError(f'features must be a list of numbers (or an object holding "features"), found {found}')
    if isinstance(features, dict):
        _add_tensor(stack, features, field)
    else:
        stack.add_dense(numbers(features, field), field)
    return label


def _add_tensor(stack: RowStack, tensor: dict[str, Any], field: str) -> None:
    """The protocol-buffers equivalent: {"values", "keys", "shape"}."""
    unknown = sorted(set(map(str, tensor)) - {"values", "keys", "shape"})
    if unknown:
        raise ValueError(f'{field} may hold "values", "keys" and "shape" only, found {unknown[0]!r:.40}')
    values = numbers(tensor.get("values"), f"{field}.values")
    keys = _whole_numbers(tensor.get("keys", []), f"{field}.keys", 0)
    dims = _whole_numbers(tensor.get("shape") or [], f"{field}.shape", 1)
    width = None
    if len(dims):
        product = math.prod(dims.tolist())
        if product > MAX_WIDTH:
            raise ValueError(f"{field}.shape {dims.tolist()} holds more than {MAX_WIDTH} features")
        width = int(product)
    if len(keys) or (not len(values) and width is not None):  # sparse (a shape alone: a row of zeros)
        stack.add_sparse(values, keys, width, field)
        return
    if width is not None and width != len(values):
        raise ValueError(f'{field} holds {len(values)} "values" but its "shape" {dims.tolist()} says {width}')
    stack.add_dense(values, field)
