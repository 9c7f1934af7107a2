"""Fuzzing text/libsvm (libsvm_format.py): a correct parse or a ChannelDataError naming channel, file and line.

Seeds: tests/fuzz/seeds/libsvm/.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from mlops.contract.data import LabeledData
from mlops.contract.libsvm_format import read_libsvm
from tests.fuzz.formats import LIBSVM_TOKENS, libsvm_files
from tests.fuzz.mutations import mutated
from tests.fuzz.rules import counted, peak_bytes, read, seed_files, seeds


@given(libsvm_files())
@counted
def test_libsvm_reads_back_what_was_written(file: tuple[bytes, sp.csr_matrix, np.ndarray | None]) -> None:
    body, X, y = file
    data = read(read_libsvm, body, 0 if y is None else 1)
    assert isinstance(data, LabeledData), data
    expected = X.toarray()
    if y is None:  # a line without a label and without an entry is a blank line
        expected = expected[np.diff(X.indptr) > 0]
    dense = data.X.toarray()
    assert dense.shape[0] == expected.shape[0] and dense.shape[1] <= expected.shape[1]
    np.testing.assert_array_equal(dense, expected[:, : dense.shape[1]])  # trailing all-zero columns unseen
    if y is not None:
        np.testing.assert_array_equal(data.y, y)


@given(mutated(libsvm_files().map(lambda f: f[0]) | st.sampled_from(seeds("libsvm")), LIBSVM_TOKENS), st.sampled_from([0, 1]))
@counted
def test_libsvm_mutated(body: bytes, label_size: int) -> None:
    read(read_libsvm, body, label_size)


@given(st.binary(max_size=256), st.sampled_from([0, 1, 2]))
@counted
def test_libsvm_arbitrary_bytes(body: bytes, label_size: int) -> None:
    read(read_libsvm, body, label_size)


@given(st.integers(0, 2**62 - 1), st.integers(1, 50))
@counted
def test_huge_indices_allocate_nothing(index: int, rows: int) -> None:
    """The matrix is as wide as the largest index says, and stays sparse: nothing is allocated for it."""
    body = b"".join(b"1 %d:1.5\n" % index for _ in range(rows))
    data = read(read_libsvm, body)
    assert isinstance(data, LabeledData) and data.X.shape == (rows, index + 1)
    assert peak_bytes(lambda: read_libsvm(io.BytesIO(body), "train", "part-0")) < 4 * 2**20


@pytest.mark.parametrize("path", seed_files("libsvm"), ids=lambda p: p.name)
def test_every_seed(path: Path) -> None:
    for label_size in (0, 1):
        read(read_libsvm, path.read_bytes(), label_size)
