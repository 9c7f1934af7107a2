"""recordio-protobuf: compatibility with the sagemaker 2.x SDK, round trips and corrupt input."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from mlops.contract.channels import reader_for
from mlops.contract.errors import ChannelDataError
from mlops.contract.recordio import (
    MAGIC,
    _pack_varints,
    _unpack_varints,
    decode_label_maps,
    encode_dense,
    encode_label_maps,
    read_recordio_protobuf,
    write_dense,
    write_sparse,
)

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "recordio"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())["fixtures"]


def read(data: bytes, label_size: int = 1, file: str = "part-0.rec"):
    return read_recordio_protobuf(io.BytesIO(data), "train", file, label_size)


def load_fixture(name: str) -> tuple[bytes, dict[str, np.ndarray]]:
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as arrays:
        return (FIXTURES / f"{name}.rec").read_bytes(), dict(arrays)


def fixture_matrix(arrays: dict[str, np.ndarray]):
    if "X" in arrays:
        return arrays["X"]
    shape = tuple(int(d) for d in arrays["shape"])
    return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)


# ------------------------------------------------------------------------------ sagemaker SDK 2.x fixtures


def test_fixtures_cover_dense_sparse_and_unlabelled():
    names = {f["name"] for f in MANIFEST}
    assert {"dense_float32_labeled", "dense_unlabeled", "sparse_float32_labeled"} <= names
    assert all(f["bytes"] < 4096 for f in MANIFEST)


@pytest.mark.parametrize("fixture", MANIFEST, ids=lambda f: f["name"])
def test_reader_reproduces_what_the_sdk_wrote(fixture):
    raw, arrays = load_fixture(fixture["name"])
    data = read(raw)
    assert data.rows == fixture["rows"] and data.columns == fixture["columns"]
    expected = fixture_matrix(arrays)
    if sp.issparse(expected):
        assert sp.issparse(data.X) and data.X.format == "csr" and data.X.dtype == np.float32
        np.testing.assert_array_equal(data.X.indptr, expected.indptr)
        np.testing.assert_array_equal(data.X.indices, expected.indices)  # stored order kept
        np.testing.assert_array_equal(data.X.data, expected.data.astype(np.float32))
    else:
        assert isinstance(data.X, np.ndarray) and data.X.dtype == np.float32
        np.testing.assert_array_equal(data.X, expected.astype(np.float32))  # NaN == NaN here
        assert np.array_equal(np.signbit(data.X), np.signbit(expected.astype(np.float32)))
    if fixture["labelled"]:
        assert data.y is not None and data.y.dtype == np.float32
        np.testing.assert_array_equal(data.y, arrays["y"].astype(np.float32))
    else:
        assert data.y is None


@pytest.mark.parametrize("fixture", MANIFEST, ids=lambda f: f["name"])
def test_writer_is_byte_identical_to_the_sdk(fixture):
    raw, arrays = load_fixture(fixture["name"])
    buffer = io.BytesIO()
    matrix = fixture_matrix(arrays)
    (write_sparse if sp.issparse(matrix) else write_dense)(buffer, matrix, arrays.get("y"))
    assert buffer.getvalue() == raw


def test_encode_dense_matches_the_sdk_fixture():
    raw, arrays = load_fixture("dense_unlabeled")
    assert encode_dense(arrays["X"]) == raw


# ------------------------------------------------------------------------------------------- round trips


def test_dense_round_trip_with_labels():
    X = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    y = np.array([1, 0, 1, 1], dtype=np.float32)
    data = read(encode_dense(X, y))
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y, y)


def test_label_size_zero_ignores_labels():
    data = read(encode_dense(np.ones((2, 2), dtype=np.float32), np.array([1.0, 2.0])), label_size=0)
    assert data.y is None


def test_multi_value_labels_give_a_matrix():
    y = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
    data = read(encode_dense(np.zeros((3, 1), dtype=np.float32), y))
    np.testing.assert_array_equal(data.y, y)


def test_single_row_vector_is_one_record():
    data = read(encode_dense(np.array([1.0, 2.0, 3.0], dtype=np.float32)))
    assert data.X.shape == (1, 3)


def test_sparse_round_trip_keeps_empty_rows_and_width():
    matrix = sp.csr_matrix(np.array([[0, 0, 0, 0, 0], [1.5, 0, 0, 0, 2], [0, 0, 0, 0, 0]], dtype=np.float32))
    buffer = io.BytesIO()
    write_sparse(buffer, matrix, np.array([0.0, 1.0, 0.0], dtype=np.float32))
    data = read(buffer.getvalue())
    assert sp.issparse(data.X) and data.X.shape == (3, 5)
    np.testing.assert_array_equal(data.X.toarray(), matrix.toarray())
    np.testing.assert_array_equal(data.y, [0, 1, 0])


def test_all_empty_sparse_rows_stay_sparse():
    buffer = io.BytesIO()
    write_sparse(buffer, sp.csr_matrix((2, 7), dtype=np.float32))
    data = read(buffer.getvalue())
    assert sp.issparse(data.X) and data.X.shape == (2, 7) and data.X.nnz == 0


def test_records_of_different_tensor_types_in_one_file():
    raw = encode_dense(np.array([[1.5, 2.5]], dtype=np.float32)) + encode_dense(np.array([[-3, 4]]))
    raw += encode_dense(np.array([[0.25, 8.0]]))
    np.testing.assert_array_equal(read(raw).X, [[1.5, 2.5], [-3, 4], [0.25, 8]])


def test_dense_and_sparse_records_in_one_file_give_csr():
    buffer = io.BytesIO()
    write_sparse(buffer, sp.csr_matrix(np.array([[0, 0, 7, 0]], dtype=np.float32)))
    data = read(encode_dense(np.array([[1, 2, 3, 4]], dtype=np.float32)) + buffer.getvalue())
    assert sp.issparse(data.X)
    np.testing.assert_array_equal(data.X.toarray(), [[1, 2, 3, 4], [0, 0, 7, 0]])


def test_empty_stream():
    data = read(b"")
    assert data.rows == 0 and data.y is None


def test_channels_dispatch_to_this_reader():
    assert reader_for("application/x-recordio-protobuf") is read_recordio_protobuf


def test_label_maps_round_trip():
    body = encode_label_maps([{"score": 0.25, "predicted_label": 1}, {"score": [0.1, 0.9]}])
    maps = decode_label_maps(body)
    assert list(maps[0]) == ["score", "predicted_label"]
    np.testing.assert_array_equal(maps[0]["score"], np.array([0.25], dtype=np.float32))
    np.testing.assert_array_equal(maps[1]["score"], np.array([0.1, 0.9], dtype=np.float32))


def test_varints_round_trip():
    values = np.array([0, 1, 127, 128, 300, 2**31 - 1, 2**32, 2**63, 2**64 - 1], dtype=np.uint64)
    packed, sizes = _pack_varints(values)
    assert sizes.tolist() == [1, 1, 1, 2, 2, 5, 5, 10, 10]
    assert packed[:3] == b"\x00\x01\x7f" and packed[3:5] == b"\x80\x01"
    np.testing.assert_array_equal(_unpack_varints(memoryview(packed)), values)


def test_int32_overflow_is_refused():
    with pytest.raises(ValueError, match="Int32Tensor"):
        encode_dense(np.array([[2**31]]))


# ---------------------------------------------------------------------- other encoders' records we accept


def frame(payload: bytes, flag: int = 0) -> bytes:
    return struct.pack("<II", MAGIC, flag << 29 | len(payload)) + payload + b"\0" * (-len(payload) % 4)


def field(number: int, payload: bytes) -> bytes:
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def features_record(tensor: bytes, kind: int = 2) -> bytes:
    return field(1, field(1, b"values") + field(2, field(kind, tensor)))


def dmlc_write(payload: bytes) -> bytes:
    """dmlc-core's RecordIOWriter: split where the magic appears at an aligned offset (flags 1, 2, 3)."""
    magic, out, start = struct.pack("<I", MAGIC), b"", 0
    for i in range(0, len(payload) // 4 * 4, 4):
        if payload[i : i + 4] == magic:
            out += struct.pack("<II", MAGIC, (1 if start == 0 else 2) << 29 | (i - start)) + payload[start:i]
            start = i + 4
    rest = payload[start:]
    return out + struct.pack("<II", MAGIC, (3 if start else 0) << 29 | len(rest)) + rest + b"\0" * (-len(rest) % 4)


def test_dmlc_split_records_are_joined():
    (magic_float,) = struct.unpack("<f", struct.pack("<I", MAGIC))
    X = np.array([[1.0, magic_float, 2.0, magic_float, 3.0], [magic_float] * 5], dtype=np.float32)
    payloads = []
    for row in X:
        framed = encode_dense(row)
        payloads.append(framed[8 : 8 + struct.unpack_from("<I", framed, 4)[0]])
    raw = b"".join(dmlc_write(p) for p in payloads)
    assert raw.count(struct.pack("<I", MAGIC)) == 9  # two records, split into 3 + 6 parts
    np.testing.assert_array_equal(read(raw).X, X)


def test_unpacked_repeated_fields_are_accepted():
    tensor = b"".join(bytes([0x0D]) + struct.pack("<f", v) for v in (1.0, 2.0))  # field 1, wire type 5
    tensor += bytes([0x10, 3, 0x10, 0]) + bytes([0x18, 5])  # keys 3, 0 (unpacked); shape 5
    data = read(frame(features_record(tensor)))
    np.testing.assert_array_equal(data.X.toarray(), [[2.0, 0, 0, 1.0, 0]])


def test_unknown_fields_are_skipped():
    payload = features_record(field(1, struct.pack("<f", 4.0))) + field(3, b"uid-1") + field(4, b"{}")
    assert read(frame(payload)).X.tolist() == [[4.0]]


def test_int32_and_float64_tensors_are_read():
    ints = features_record(field(1, bytes([0x05]) + b"\xff" * 9 + b"\x01"), kind=7)  # 5, -1
    doubles = features_record(field(1, struct.pack("<2d", 0.5, -2.0)), kind=3)
    assert read(frame(ints)).X.tolist() == [[5.0, -1.0]]
    assert read(frame(doubles)).X.tolist() == [[0.5, -2.0]]


# --------------------------------------------------------------------------------------------- bad input


def test_truncated_payload_names_file_and_record():
    raw = encode_dense(np.ones((3, 4), dtype=np.float32))
    with pytest.raises(ChannelDataError, match=r"channel 'train', file part-0.rec, line 3") as info:
        read(raw[:-6])
    assert info.value.line == 3 and info.value.file == "part-0.rec" and "truncated" in str(info.value)


def test_truncated_header():
    raw = encode_dense(np.ones((2, 1), dtype=np.float32))
    with pytest.raises(ChannelDataError, match="truncated RecordIO header") as info:
        read(raw + b"\x0a\x23")
    assert info.value.line == 3


def test_bad_magic():
    with pytest.raises(ChannelDataError, match="bad magic") as info:
        read(b"1,2,3\n4,5,6\n")
    assert info.value.line == 1


def test_corrupt_protobuf():
    raw = encode_dense(np.ones((2, 2), dtype=np.float32))
    record = frame(b"\x0a\x7f\x01\x02")  # a length-delimited field longer than its message
    with pytest.raises(ChannelDataError, match="corrupt record") as info:
        read(raw + record)
    assert info.value.line == 3


def test_width_mismatch_between_records():
    raw = encode_dense(np.ones((2, 3), dtype=np.float32)) + encode_dense(np.ones((1, 2), dtype=np.float32))
    with pytest.raises(ChannelDataError, match="expected 3 features, found 2") as info:
        read(raw)
    assert info.value.line == 3


def test_some_records_without_label():
    raw = encode_dense(np.ones((2, 2), dtype=np.float32), np.ones(2)) + encode_dense(np.ones((1, 2)))
    with pytest.raises(ChannelDataError, match="no label") as info:
        read(raw)
    assert info.value.line == 3


def test_sparse_without_shape_and_key_out_of_range():
    no_shape = features_record(field(1, struct.pack("<f", 1.0)) + field(2, b"\x02"))
    with pytest.raises(ChannelDataError, match="need a shape"):
        read(frame(no_shape))
    out_of_range = features_record(field(1, struct.pack("<f", 1.0)) + field(2, b"\x09") + field(3, b"\x04"))
    with pytest.raises(ChannelDataError, match="out of range"):
        read(frame(out_of_range))


def test_bytes_values_are_refused():
    record = field(1, field(1, b"values") + field(2, field(9, field(1, b"\xff\xd8"))))
    with pytest.raises(ChannelDataError, match="Bytes values are not supported"):
        read(frame(record))


def test_record_without_features():
    with pytest.raises(ChannelDataError, match="no features"):
        read(frame(b""))
