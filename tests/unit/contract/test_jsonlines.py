"""application/jsonlines channels: SageMaker's {"features", "label"} lines, bare arrays, sparse form."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp

from mlops.contract.channels import reader_for
from mlops.contract.errors import ChannelDataError
from mlops.contract.jsonlines_format import read_jsonlines


def read(text: str, label_size: int = 1):
    return read_jsonlines(io.BytesIO(text.encode()), "train", "train.jsonl", label_size)


def test_features_and_labels():
    data = read('{"features": [1, 2.5], "label": 1}\n{"features": [3, 4], "label": 0}\n')
    assert isinstance(data.X, np.ndarray) and data.X.dtype == np.float32
    np.testing.assert_array_equal(data.X, [[1, 2.5], [3, 4]])
    np.testing.assert_array_equal(data.y, np.array([1, 0], dtype=np.float32))


def test_bare_arrays_are_features_only():
    data = read("[1, 2]\n\n[3, null]\n")
    assert data.y is None
    np.testing.assert_array_equal(data.X, [[1, 2], [3, np.nan]])


def test_label_size_zero_ignores_labels():
    assert read('{"features": [1], "label": 5}\n', label_size=0).y is None


def test_vector_labels():
    data = read('{"features": [1], "label": [1, 2]}\n{"features": [2], "label": [3, 4]}\n')
    np.testing.assert_array_equal(data.y, [[1, 2], [3, 4]])


def test_sparse_and_data_wrapped_lines():
    text = (
        '{"data": {"features": {"keys": [3, 0], "shape": [5], "values": [2, 1]}}, "label": 1}\n'
        '{"features": [0, 1, 0, 0, 0], "label": 0}\n'
    )
    data = read(text)
    assert sp.issparse(data.X) and data.X.shape == (2, 5)
    np.testing.assert_array_equal(data.X.toarray(), [[1, 0, 0, 2, 0], [0, 1, 0, 0, 0]])
    np.testing.assert_array_equal(data.y, [1, 0])


def test_empty_file():
    data = read("\n")
    assert data.rows == 0 and data.y is None


def test_channels_dispatch_to_this_reader():
    assert reader_for("application/jsonlines") is read_jsonlines


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"features": [1]}\n{"features": [1}\n', 2, "not valid JSON"),
        ('[1]\n{"label": 1}\n', 2, '"features" key'),
        ('{"features": [1, 2]}\n\n{"features": [1]}\n', 3, "expected 2 features, found 1"),
        ('{"features": ["a"]}\n', 1, "list of numbers"),
        ('{"features": [[1], [2]]}\n', 1, "flat list"),
        ('{"features": 3}\n', 1, "list of numbers"),
        ('{"features": [1], "label": 1}\n{"features": [2]}\n', 2, 'no "label"'),
        ('{"features": {"keys": [7], "shape": [3], "values": [1]}}\n', 1, "out of range"),
        ('{"features": {"keys": [0, 1], "shape": [3], "values": [1]}}\n', 1, "1 values but 2 keys"),
        ("42\n", 1, "list of numbers"),
    ],
)
def test_bad_lines_name_file_and_line(text, line, message):
    with pytest.raises(ChannelDataError, match=message) as info:
        read(text)
    assert info.value.line == line and "train.jsonl" in str(info.value)
