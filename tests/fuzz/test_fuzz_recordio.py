"""Fuzzing the recordio-protobuf reader: a correct parse or a ChannelDataError, bounded in time and memory.

Seeds: the sagemaker SDK's own files (tests/data/recordio/*.rec) and tests/fuzz/seeds/recordio/.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError
from mlops.contract.recordio import (
    MAGIC,
    decode_label_maps,
    encode_dense,
    encode_label_maps,
    iter_payloads,
    read_recordio_protobuf,
)
from tests.fuzz.formats import dense_records, encode_sparse, recordio_files, sparse_records
from tests.fuzz.mutations import mutated
from tests.fuzz.rules import check_channel_error, counted, examples, parse_or_named, peak_bytes, read, seed_files

SDK_FILES = sorted((Path(__file__).parents[1] / "data" / "recordio").glob("*.rec"))
SEEDS = [p.read_bytes() for p in SDK_FILES + seed_files("recordio")]
HEADER = struct.Struct("<II")
MAGIC_BYTES = struct.pack("<I", MAGIC)


def read_records(data: bytes, label_size: int = 1) -> LabeledData | ChannelDataError:
    return read(read_recordio_protobuf, data, label_size)


valid_bodies = recordio_files | st.sampled_from(SEEDS)


@given(dense_records())
@counted
def test_dense_records_read_back_as_written(record: tuple[np.ndarray, np.ndarray | None]) -> None:
    X, y = record
    data = read_records(encode_dense(X, y))
    assert not isinstance(data, ChannelDataError), data
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(data.X, X.astype(np.float32))
        if y is not None:
            np.testing.assert_array_equal(data.y, y.astype(np.float32))


@given(sparse_records())
@counted
def test_sparse_records_read_back_as_written(record: tuple[sp.csr_matrix, np.ndarray | None]) -> None:
    X, y = record
    data = read_records(encode_sparse(X, y))
    assert not isinstance(data, ChannelDataError), data
    assert sp.issparse(data.X) and data.X.shape == X.shape
    np.testing.assert_array_equal(data.X.toarray(), X.toarray().astype(np.float32))


# ------------------------------------------------------------------------------------------- hostile input


@given(st.binary(max_size=512), st.sampled_from([0, 1]))
@counted
def test_arbitrary_bytes(body: bytes, label_size: int) -> None:
    read_records(body, label_size)


@given(st.binary(max_size=256))
@counted
def test_arbitrary_payloads_in_valid_frames(payload: bytes) -> None:
    """Past the framing, straight into the protobuf walk."""
    frame = HEADER.pack(MAGIC, len(payload)) + payload + b"\0" * (-len(payload) % 4)
    read_records(frame)
    read_records(frame * 2, 0)


@given(mutated(valid_bodies, tokens=(MAGIC_BYTES, b"\xff" * 10, b"\x80" * 11, b"\x0a\x7f", b"\x12\x00")), st.booleans())
@counted
def test_mutated_valid_files(body: bytes, labelled: bool) -> None:
    read_records(body, int(labelled))


@given(
    valid_bodies,
    st.integers(0, 7),
    st.one_of(
        st.sampled_from([0xFFFFFFFF, 0x1FFFFFFF, 0x20000000, 0x40000000, 0x80000000, 0xC0000000, 0xE0000000]),
        st.integers(0, 2**32 - 1),
    ),
)
@settings(max_examples=examples(0.5))
@counted
def test_huge_lengths_in_headers_allocate_nothing(body: bytes, frame: int, word: int) -> None:
    """A length word of up to 4 GB (or any continuation flag) in any frame: an error, not an allocation."""
    starts = [i for i in range(0, len(body) - 7, 4) if body[i : i + 4] == MAGIC_BYTES]
    at = starts[frame % len(starts)]
    forged = body[:at] + HEADER.pack(MAGIC, word) + body[at + 8 :]
    read_records(forged)
    assert peak_bytes(lambda: read_recordio_protobuf(io.BytesIO(forged), "train", "part-0")) < 8 * 2**20


@st.composite
def varint(draw: st.DrawFn) -> bytes:
    value = draw(st.integers(0, 2**70))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@st.composite
def protobuf_messages(draw: st.DrawFn, depth: int = 0) -> bytes:
    """Records built from random fields of every wire type, sizes that lie, and nested messages."""
    out = b""
    for _ in range(draw(st.integers(0, 4))):
        field = draw(st.sampled_from([0, 1, 2, 3, 5, 7, 9, 1 << 28]))
        wire = draw(st.sampled_from([0, 1, 2, 3, 5, 6]))
        key = draw(varint()) if draw(st.integers(0, 9)) == 0 else _varint(field << 3 | wire)
        if wire == 2:
            inner = draw(protobuf_messages(depth + 1)) if depth < 3 and draw(st.booleans()) else draw(st.binary(max_size=24))
            size = _varint(len(inner)) if draw(st.integers(0, 4)) else draw(varint())
            out += key + size + inner
        elif wire == 0:
            out += key + draw(varint())
        else:
            out += key + draw(st.binary(min_size=0, max_size=8))
    return out


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


@st.composite
def plausible_records(draw: st.DrawFn) -> bytes:
    """A Record whose maps and tensors have the right field numbers and random contents (shapes, keys,
    values of the wrong size, huge dimensions)."""
    kind = draw(st.sampled_from([2, 3, 7, 9]))
    parts = b""
    if draw(st.booleans()):
        parts += _field(1, draw(st.binary(max_size=24)))
    if draw(st.booleans()):
        parts += _field(2, b"".join(_varint(k) for k in draw(st.lists(st.integers(0, 2**64 - 1), max_size=4))))
    if draw(st.booleans()):
        parts += _field(3, b"".join(_varint(d) for d in draw(st.lists(st.integers(0, 2**64), max_size=3))))
    value = _field(kind, parts)
    key = draw(st.sampled_from([b"values", b"", b"other", b"\xff"]))
    entry = _field(draw(st.sampled_from([1, 1, 2])), _field(1, key) + _field(2, value))
    return entry + (draw(protobuf_messages()) if draw(st.integers(0, 3)) == 0 else b"")


def framed(payloads: list[bytes]) -> bytes:
    return b"".join(HEADER.pack(MAGIC, len(p)) + p + b"\0" * (-len(p) % 4) for p in payloads)


@given(st.lists(protobuf_messages() | plausible_records(), min_size=1, max_size=4), st.booleans())
@counted
def test_forged_protobuf_records(payloads: list[bytes], labelled: bool) -> None:
    body = framed(payloads)
    read_records(body, int(labelled))
    result = parse_or_named(lambda: decode_label_maps(body), (ChannelDataError,))
    if not isinstance(result, ChannelDataError):
        assert len(result) == len(payloads)
        assert all(v.dtype == np.float32 for record in result for v in record.values())


@given(st.lists(plausible_records(), min_size=1, max_size=3))
@settings(max_examples=examples(0.3))
@counted
def test_forged_records_allocate_nothing_for_their_shapes(payloads: list[bytes]) -> None:
    """Huge shape dimensions and keys: the reader never allocates for what a record only announces."""
    body = framed(payloads)
    assert peak_bytes(lambda: read_recordio_protobuf(io.BytesIO(body), "train", "part-0")) < 8 * 2**20


@given(mutated(st.sampled_from([encode_label_maps([{"score": [0.5], "predicted_label": [1.0]}] * 2)])))
@counted
def test_mutated_label_maps(body: bytes) -> None:
    result = parse_or_named(lambda: decode_label_maps(body), (ChannelDataError,))
    assert isinstance(result, ChannelDataError | list)


@given(st.binary(max_size=256))
@counted
def test_iter_payloads_covers_the_input(body: bytes) -> None:
    """Every payload lies inside the input; the walk ends or names an error."""
    try:
        for number, payload in iter_payloads(body, "train", "part-0"):
            assert number >= 1 and len(payload) <= len(body)
    except ChannelDataError as e:
        check_channel_error(e, "train", "part-0")


@pytest.mark.parametrize("path", SDK_FILES + seed_files("recordio"), ids=lambda p: p.name)
def test_every_seed(path: Path) -> None:
    read_records(path.read_bytes())
    read_records(path.read_bytes(), 0)
