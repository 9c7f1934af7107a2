"""application/x-recordio-protobuf, byte-compatible with the sagemaker SDK 2.x writer.

A file is a sequence of RecordIO frames (uint32 LE magic 0xCED7230A, uint32 LE length word, payload,
zero padding to a multiple of 4). Each payload is a protobuf ``aialgs.data.Record``::

    Record   { map<string, Value> features = 1; map<string, Value> label = 2;
               string uid = 3; string metadata = 4; string configuration = 5; }
    Value    { oneof { Float32Tensor float32_tensor = 2; Float64Tensor float64_tensor = 3;
                       Int32Tensor int32_tensor = 7; Bytes bytes = 9; } }
    *Tensor  { repeated <float|double|int32> values = 1 [packed]; repeated uint64 keys = 2 [packed];
               repeated uint64 shape = 3 [packed]; }

Features and labels live under the map key ``"values"``. A tensor with keys is sparse (keys are flat
indices into ``shape``); a sparse row without any entry has neither values nor keys, only a shape.
The protobuf wire format is implemented here by hand, so the package needs no protobuf runtime: Python
walks each record's structure and numpy decodes or encodes the numbers of all records at once.
The length word's top 3 bits are dmlc's continuation flag: split records (as MXNet writes them when a
payload contains the magic) are joined on reading; the writer, like the SDK, never splits.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Any, BinaryIO

import numpy as np

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_HEADER = struct.Struct("<II")
_LENGTH_MASK = (1 << 29) - 1

# Field numbers of the Value oneof; the wire type each tensor's unpacked values use.
_FLOAT32, _FLOAT64, _INT32, _BYTES = 2, 3, 7, 9
_FIXED_DTYPES: dict[int, np.dtype[Any]] = {_FLOAT32: np.dtype("<f4"), _FLOAT64: np.dtype("<f8")}
_UNPACKED_WIRE = {_INT32: 0, _FLOAT32: 5, _FLOAT64: 1}
_MAX_WIDTH = 2**62
_VARINT_LIMITS = np.array([1 << (7 * k) for k in range(1, 10)], dtype=np.uint64)

# A Value still encoded: (tensor kind, packed values, packed keys or None, shape or None).
_RawTensor = tuple[int, bytes, bytes | None, tuple[int, ...] | None]


class _Corrupt(Exception):
    """Malformed input; ``row`` (0-based) says which record when it is found after the walk."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.row = row


# ------------------------------------------------------------------------------------ wire format: reading


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Corrupt("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _Corrupt("varint longer than 10 bytes")


def _fields(buf: memoryview) -> list[tuple[int, int, Any]]:
    """(field number, wire type, int or memoryview) for each field of a protobuf message."""
    out: list[tuple[int, int, Any]] = []
    pos, end = 0, len(buf)
    while pos < end:
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(buf, pos)
        wire = key & 7
        value: Any
        if wire == 2:
            if pos < end and buf[pos] < 0x80:
                size, pos = buf[pos], pos + 1
            else:
                size, pos = _varint(buf, pos)
        elif wire == 0:
            value, pos = _varint(buf, pos)
            size = 0
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
        else:
            raise _Corrupt(f"unsupported protobuf wire type {wire} (field {key >> 3})")
        if wire:
            if pos + size > end:
                raise _Corrupt(f"field {key >> 3} runs past the end of its message")
            value, pos = buf[pos : pos + size], pos + size
        if key < 8:
            raise _Corrupt("protobuf field number 0")
        out.append((key >> 3, wire, value))
    return out


def _varint_bytes(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _small_varints(buf: memoryview) -> tuple[int, ...]:
    out, pos = [], 0
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        out.append(value)
    return tuple(out)


def _raw_tensor(value: memoryview) -> _RawTensor:
    kind, tensor = 0, memoryview(b"")
    for field, wire, item in _fields(value):
        if field in _UNPACKED_WIRE and wire == 2:
            kind, tensor = field, item
        elif field == _BYTES:
            raise _Corrupt("Bytes values are not supported (only float32/float64/int32 tensors)")
    if not kind:
        raise _Corrupt("a value holds no tensor")
    parts: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    for field, wire, item in _fields(tensor):
        if field in (1, 2, 3):
            if wire != 2 and wire != (_UNPACKED_WIRE[kind] if field == 1 else 0):
                raise _Corrupt(f"tensor field {field} has the wrong wire type {wire}")
            parts[field - 1].append(_varint_bytes(item) if wire == 0 else item)  # as if packed
    values, keys, shape = (b"".join(p) for p in parts)
    dims = _small_varints(memoryview(shape)) if parts[2] else None
    return kind, values, keys if parts[1] else None, dims


def _record(buf: memoryview) -> tuple[dict[str, memoryview], dict[str, memoryview]]:
    """The features and label maps of a Record, their values still encoded."""
    maps: tuple[dict[str, memoryview], dict[str, memoryview]] = ({}, {})
    for field, wire, entry in _fields(buf):
        if field in (1, 2) and wire == 2:
            key, value = "", memoryview(b"")
            for entry_field, entry_wire, item in _fields(entry):
                if entry_field == 1 and entry_wire == 2:
                    try:
                        key = str(item, "utf-8")
                    except UnicodeDecodeError:
                        raise _Corrupt("map key is not UTF-8") from None
                elif entry_field == 2 and entry_wire == 2:
                    value = item
            maps[field - 1][key] = value
    return maps


def _pick(entries: dict[str, memoryview], what: str) -> memoryview | None:
    if not entries:
        return None
    if "values" in entries:
        return entries["values"]
    if len(entries) == 1:
        return next(iter(entries.values()))
    raise _Corrupt(f"{what} has keys {sorted(entries)} but none is 'values'")


def iter_payloads(
    raw: bytes | memoryview, channel: str = "?", file: str = "?"
) -> Iterator[tuple[int, memoryview]]:
    """(record number from 1, protobuf payload) for each RecordIO record, joining dmlc split records."""
    buf = memoryview(raw)
    pos, end, number = 0, len(buf), 0
    while pos < end:
        number += 1
        parts: list[memoryview] = []
        while True:
            if pos + 8 > end:
                raise ChannelDataError(channel, file, f"truncated RecordIO header at byte {pos}", number)
            magic, word = _HEADER.unpack_from(buf, pos)
            if magic != MAGIC:
                raise ChannelDataError(
                    channel, file, f"not RecordIO: bad magic 0x{magic:08X} at byte {pos}", number
                )
            flag, length = word >> 29, word & _LENGTH_MASK
            if flag not in ((0, 1) if not parts else (2, 3)):
                raise ChannelDataError(channel, file, f"bad RecordIO continuation flag {flag}", number)
            start = pos + 8
            if start + length > end:
                raise ChannelDataError(
                    channel, file, f"truncated record: {length} bytes announced, {end - start} left", number
                )
            parts.append(buf[start : start + length])
            pos = start + ((length + 3) & ~3)
            if flag in (0, 3):
                break
        yield number, parts[0] if len(parts) == 1 else memoryview(_MAGIC_BYTES.join(parts))


# ------------------------------------------------------------------------------------- bulk number decoding


def _unpack_varints(buf: bytes | memoryview | np.ndarray) -> np.ndarray:
    """Decode a run of varints at once, as uint64."""
    data = np.frombuffer(buf, dtype=np.uint8)
    if data.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if data[-1] & 0x80:
        raise _Corrupt("truncated packed varint")
    ends = np.flatnonzero(data < 0x80)
    if ends.size == data.size:
        return data.astype(np.uint64)
    starts = np.concatenate(([0], ends[:-1] + 1))
    sizes = ends - starts + 1
    if sizes.max() > 10:
        raise _Corrupt("varint longer than 10 bytes")
    out = np.zeros(ends.size, dtype=np.uint64)
    for k in range(int(sizes.max())):  # the k-th byte of every varint that has one
        live = np.flatnonzero(sizes > k) if k else slice(None)
        out[live] |= (data[starts[live] + k] & 0x7F).astype(np.uint64) << np.uint64(7 * k)
    return out


def _varint_chunks(chunks: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """All varints of many packed chunks (uint64) and how many each chunk holds."""
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    bounds = np.zeros(len(chunks) + 1, dtype=np.int64)
    np.cumsum([len(c) for c in chunks], out=bounds[1:])
    if data.size:
        cut = np.flatnonzero((bounds[1:] > bounds[:-1]) & (data[np.maximum(bounds[1:] - 1, 0)] >= 0x80))
        if cut.size:
            raise _Corrupt("truncated packed varint", int(cut[0]))
    terminators = np.concatenate(([0], np.cumsum(data < 0x80)))
    return _unpack_varints(data), np.diff(terminators[bounds])


def _decode(kinds: list[int], chunks: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The values of many tensors as one float32 array, and how many values each tensor holds."""
    kind_of = np.array(kinds)
    counts = np.zeros(len(chunks), dtype=np.int64)
    decoded = []
    for kind in sorted(set(kinds)):
        rows = np.flatnonzero(kind_of == kind)
        mine = [chunks[i] for i in rows]
        if kind == _INT32:
            ints, counts[rows] = _varint_chunks(mine)
            decoded.append((kind, ints.view(np.int64).astype(np.float32)))
        else:
            dtype = _FIXED_DTYPES[kind]
            sizes = np.array([len(c) for c in mine], dtype=np.int64)
            bad = np.flatnonzero(sizes % dtype.itemsize)
            if bad.size:
                raise _Corrupt(f"{sizes[bad[0]]} bytes of {dtype.itemsize}-byte values", int(rows[bad[0]]))
            counts[rows] = sizes // dtype.itemsize
            with np.errstate(over="ignore"):  # float64 beyond float32's range becomes +-inf
                decoded.append((kind, np.frombuffer(b"".join(mine), dtype=dtype).astype(np.float32)))
    if len(decoded) == 1:
        return decoded[0][1], counts
    values = np.zeros(int(counts.sum()), dtype=np.float32)
    for kind, part in decoded:
        values[np.repeat(kind_of == kind, counts)] = part
    return values, counts


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _feature_matrix(tensors: list[_RawTensor]) -> Any:
    """Stack decoded feature tensors: a float32 array, or a CSR matrix when any record is sparse."""
    if not tensors:
        return np.zeros((0, 0), dtype=np.float32)
    values, counts = _decode([t[0] for t in tensors], [t[1] for t in tensors])
    has_keys = np.array([t[2] is not None for t in tensors], dtype=bool)
    widths = np.array([-1 if t[3] is None else min(math.prod(t[3]), _MAX_WIDTH) for t in tensors], dtype=np.int64)
    if (widths == _MAX_WIDTH).any():
        raise _Corrupt("the shape is absurdly large", _first(widths == _MAX_WIDTH))
    shaped = widths >= 0
    if (has_keys & ~shaped).any():
        raise _Corrupt("sparse features (with keys) need a shape", _first(has_keys & ~shaped))
    empty_sparse = ~has_keys & shaped & (widths != counts)
    if (empty_sparse & (counts > 0)).any():
        row = _first(empty_sparse & (counts > 0))
        raise _Corrupt(f"dense features hold {counts[row]} values but their shape says {widths[row]}", row)
    sparse = has_keys | empty_sparse
    if not sparse.any():
        if (counts != counts[0]).any():
            row = _first(counts != counts[0])
            raise _Corrupt(f"expected {counts[0]} features, found {counts[row]}", row)
        return values.reshape(len(tensors), int(counts[0]))
    keys, key_counts = _varint_chunks([t[2] for t in tensors if t[2] is not None])
    if (key_counts != counts[has_keys]).any():
        row = int(np.flatnonzero(has_keys)[_first(key_counts != counts[has_keys])])
        raise _Corrupt(f"sparse features have {counts[row]} values but a different number of keys", row)
    indptr = np.zeros(len(tensors) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.arange(indptr[-1], dtype=np.int64) - np.repeat(indptr[:-1], counts)
    indices[np.repeat(has_keys, counts)] = keys.astype(np.int64)
    row_width = np.where(sparse, widths, counts)
    out_of_range = (indices < 0) | (indices >= np.repeat(row_width, counts))
    if out_of_range.any():
        entry = _first(out_of_range)
        row = int(np.searchsorted(indptr, entry, side="right")) - 1
        raise _Corrupt(f"sparse key {indices[entry]} out of range for {row_width[row]} features", row)
    import scipy.sparse as sp

    return sp.csr_matrix((values, indices, indptr), shape=(len(tensors), int(row_width.max())))


def _label_array(tensors: list[_RawTensor]) -> np.ndarray:
    sparse = [i for i, t in enumerate(tensors) if t[2] is not None]
    if sparse:
        raise _Corrupt("sparse labels are not supported", sparse[0])
    values, counts = _decode([t[0] for t in tensors], [t[1] for t in tensors])
    if (counts != counts[0]).any():
        row = _first(counts != counts[0])
        raise _Corrupt(f"label has {counts[row]} values, earlier labels have {counts[0]}", row)
    y = values.reshape(len(tensors), int(counts[0]))
    return y[:, 0].copy() if y.shape[1] == 1 else y


def read_recordio_protobuf(stream: BinaryIO, channel: str, file: str, label_size: int = 1) -> LabeledData:
    """Read every record. X is float32 (CSR if any record is sparse); y is float32, shape (n,) when each
    label has one value and (n, k) when each has k; y is None when no record has a label or label_size=0."""
    features: list[_RawTensor] = []
    labels: list[_RawTensor] = []
    missing_label: int | None = None
    for number, payload in iter_payloads(stream.read(), channel, file):
        try:
            feature_map, label_map = _record(payload)
            encoded = _pick(feature_map, "features")
            if encoded is None:
                raise _Corrupt("record has no features")
            features.append(_raw_tensor(encoded))
            encoded_label = _pick(label_map, "label") if label_size else None
            if encoded_label is None:
                missing_label = missing_label or number
            else:
                labels.append(_raw_tensor(encoded_label))
        except _Corrupt as e:
            raise ChannelDataError(channel, file, f"corrupt record: {e}", number) from None
        if labels and missing_label is not None:
            raise ChannelDataError(channel, file, "record has no label, while others have one", missing_label)
    try:
        X = _feature_matrix(features)
        y = _label_array(labels) if labels else None
    except _Corrupt as e:
        line = None if e.row is None else e.row + 1
        raise ChannelDataError(channel, file, str(e), line) from None
    return LabeledData(X, y)


def decode_label_maps(body: bytes) -> list[dict[str, np.ndarray]]:
    """The label map of each record, as float32 arrays (how linear learner answers in recordio)."""
    out: list[dict[str, np.ndarray]] = []
    for number, payload in iter_payloads(body, "response", "body"):
        try:
            tensors = {key: _raw_tensor(value) for key, value in _record(payload)[1].items()}
            out.append({key: _decode([t[0]], [t[1]])[0] for key, t in tensors.items()})
        except _Corrupt as e:
            raise ChannelDataError("response", "body", f"corrupt record: {e}", number) from None
    return out


# ------------------------------------------------------------------------------------------------- writing


def _pack_varints(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Encode uint64 values as consecutive varints, vectorised; also returns each one's size in bytes."""
    v = np.asarray(values, dtype=np.uint64)
    sizes = np.searchsorted(_VARINT_LIMITS, v, side="right") + 1
    starts = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    for k in range(10):
        live = sizes > k
        if not live.any():
            break
        low = (v[live] >> np.uint64(7 * k)) & np.uint64(0x7F)
        out[starts[live] + k] = low.astype(np.uint8) | np.where(sizes[live] > k + 1, 0x80, 0).astype(np.uint8)
    return out.tobytes(), sizes


def _kind(dtype: np.dtype[Any]) -> int:
    """The SDK's type resolution (float32, float64, int); other dtypes are written as float32."""
    if dtype == np.float64:
        return _FLOAT64
    if np.issubdtype(dtype, np.integer):
        return _INT32
    return _FLOAT32


def _packed_rows(kind: int | None, flat: np.ndarray, counts: np.ndarray) -> list[bytes]:
    """Encode all values at once (kind None: uint64 keys) and cut the bytes into one chunk per row."""
    entry_bounds = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=entry_bounds[1:])
    if kind is None or kind == _INT32:
        if kind == _INT32:
            ints = flat.astype(np.int64)
            if ints.size and (ints.min() < -(2**31) or ints.max() >= 2**31):
                raise ValueError("integer values do not fit the Int32Tensor")
            flat = ints.view(np.uint64)  # negative int32 is written as 10 bytes, sign-extended
        data, sizes = _pack_varints(flat)
        byte_bounds = np.concatenate(([0], np.cumsum(sizes)))[entry_bounds].tolist()
    else:
        dtype = _FIXED_DTYPES[kind]
        data = flat.astype(dtype).tobytes()
        byte_bounds = (entry_bounds * dtype.itemsize).tolist()
    return [data[a:b] for a, b in pairwise(byte_bounds)]


def _field(number: int, payload: bytes) -> bytes:
    return _varint_bytes(number << 3 | 2) + _varint_bytes(len(payload)) + payload


def _tensor(kind: int, values: bytes, keys: bytes = b"", shape: bytes = b"") -> bytes:
    """A Value holding one tensor; empty repeated fields are left out, as protobuf does."""
    return _field(kind, (_field(1, values) if values else b"") + (_field(2, keys) if keys else b"") + shape)


def _entry(map_field: int, key: str, value: bytes) -> bytes:
    return _field(map_field, _field(1, key.encode()) + _field(2, value))


def _frame(payload: bytes) -> bytes:
    return _HEADER.pack(MAGIC, len(payload)) + payload + b"\0" * (-len(payload) % 4)


def _label_entries(y: Any, rows: int) -> list[bytes]:
    if y is None:
        return [b""] * rows
    labels = np.asarray(y)
    if labels.ndim not in (1, 2) or labels.shape[0] != rows:
        raise ValueError(f"labels of shape {labels.shape} do not match {rows} rows")
    kind = _kind(labels.dtype)
    per_row = 1 if labels.ndim == 1 else labels.shape[1]
    chunks = _packed_rows(kind, labels.reshape(-1), np.full(rows, per_row))
    return [_entry(2, "values", _tensor(kind, chunk)) for chunk in chunks]


def write_dense(stream: BinaryIO, X: Any, y: Any = None) -> None:
    """One record per row, as sagemaker.amazon.common.write_numpy_to_dense_tensor writes it."""
    array = np.asarray(X)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"features must be a matrix, got shape {array.shape}")
    rows, columns = array.shape
    kind, labels = _kind(array.dtype), _label_entries(y, rows)
    chunks = _packed_rows(kind, array.reshape(-1), np.full(rows, columns))
    for chunk, label in zip(chunks, labels, strict=True):
        stream.write(_frame(_entry(1, "values", _tensor(kind, chunk)) + label))


def write_sparse(stream: BinaryIO, csr: Any, y: Any = None) -> None:
    """One sparse record per row (values, column keys, shape [columns]), as
    sagemaker.amazon.common.write_spmatrix_to_sparse_tensor writes it; stored order and zeros are kept."""
    matrix = csr.tocsr()
    rows, columns = matrix.shape
    kind, labels = _kind(matrix.dtype), _label_entries(y, rows)
    counts = np.diff(matrix.indptr)
    lo, hi = int(matrix.indptr[0]), int(matrix.indptr[-1])
    values = _packed_rows(kind, matrix.data[lo:hi], counts)
    keys = _packed_rows(None, matrix.indices[lo:hi], counts)
    shape = _field(3, _varint_bytes(columns))
    for value, key, label in zip(values, keys, labels, strict=True):
        stream.write(_frame(_entry(1, "values", _tensor(kind, value, key, shape)) + label))


def encode_dense(X: Any, y: Any = None) -> bytes:
    buffer = io.BytesIO()
    write_dense(buffer, X, y)
    return buffer.getvalue()


def encode_label_maps(records: Sequence[Mapping[str, Any]]) -> bytes:
    """One record per mapping, each key a float32 tensor in the record's label map."""
    out = bytearray()
    for record in records:
        payload = b""
        for key, value in record.items():
            with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as on reading
                flat = np.asarray(value, dtype="<f4").ravel()
            payload += _entry(2, key, _tensor(_FLOAT32, flat.tobytes()))
        out += _frame(payload)
    return bytes(out)
