"""Fuzzing application/jsonlines (jsonlines_format.py): a correct parse or a ChannelDataError naming
channel, file and line; deep nesting, huge numbers, NaN and invalid UTF-8 included.

Seeds: tests/fuzz/seeds/jsonlines/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlops.contract.data import LabeledData
from mlops.contract.jsonlines_format import read_jsonlines
from tests.fuzz.formats import JSON_TOKENS, dump, finite32, jsonlines_files, small_shapes
from tests.fuzz.mutations import mutated
from tests.fuzz.rules import counted, read, seed_files, seeds


@given(hnp.arrays(np.float32, small_shapes, elements=finite32), st.booleans())
@counted
def test_jsonlines_reads_back_what_was_written(X: np.ndarray, labelled: bool) -> None:
    lines = [
        dump({"features": row.tolist(), "label": float(i)} if labelled else row.tolist()) for i, row in enumerate(X)
    ]
    data = read(read_jsonlines, b"\n".join(lines))
    assert isinstance(data, LabeledData), data
    np.testing.assert_array_equal(data.X, X)
    assert (data.y is not None) == labelled


@given(jsonlines_files(), st.sampled_from([0, 1]))
@counted
def test_jsonlines_shapes(body: bytes, label_size: int) -> None:
    read(read_jsonlines, body, label_size)


@given(mutated(jsonlines_files() | st.sampled_from(seeds("jsonlines")), JSON_TOKENS), st.sampled_from([0, 1]))
@counted
def test_jsonlines_mutated(body: bytes, label_size: int) -> None:
    read(read_jsonlines, body, label_size)


@given(st.binary(max_size=256))
@counted
def test_jsonlines_arbitrary_bytes(body: bytes) -> None:
    read(read_jsonlines, body)


@given(st.sampled_from([b"[", b'{"features":', b'{"data":']), st.integers(900, 200_000))
@counted
def test_deep_nesting(opening: bytes, depth: int) -> None:
    read(read_jsonlines, opening * depth)


@pytest.mark.parametrize("path", seed_files("jsonlines"), ids=lambda p: p.name)
def test_every_seed(path: Path) -> None:
    for label_size in (0, 1):
        read(read_jsonlines, path.read_bytes(), label_size)
