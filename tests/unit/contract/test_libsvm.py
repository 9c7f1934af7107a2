"""text/libsvm channels: indices as given (XGBoost's convention), labels, comments and bad lines."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp

from mlops.contract.channels import reader_for
from mlops.contract.errors import ChannelDataError
from mlops.contract.libsvm_format import read_libsvm


def read(text: str, label_size: int = 1):
    return read_libsvm(io.BytesIO(text.encode()), "train", "train.libsvm", label_size)


def test_labels_and_zero_based_indices():
    data = read("1 0:1.5 2:-2\n0 1:3\n")
    assert sp.issparse(data.X) and data.X.format == "csr" and data.X.dtype == np.float32
    np.testing.assert_array_equal(data.X.toarray(), [[1.5, 0, -2], [0, 3, 0]])
    np.testing.assert_array_equal(data.y, np.array([1, 0], dtype=np.float32))


def test_one_based_indices_leave_column_zero_empty():
    data = read("1 1:1 3:3\n0 2:2\n")
    assert data.X.shape == (2, 4)
    np.testing.assert_array_equal(data.X.toarray()[:, 0], [0, 0])


def test_features_only_with_label_size_zero():
    data = read("0:1 1:2\n\n2:5\n", label_size=0)
    assert data.y is None
    np.testing.assert_array_equal(data.X.toarray(), [[1, 2, 0], [0, 0, 5]])


def test_blank_lines_comments_tabs_and_empty_rows():
    data = read("# header comment\n2\t0:1\t1:1  # trailing\n\n-1\n")
    np.testing.assert_array_equal(data.y, [2, -1])
    np.testing.assert_array_equal(data.X.toarray(), [[1, 1], [0, 0]])


def test_crlf_and_scientific_notation():
    data = read("1 0:1e-3 1:NaN\r\n0 1:2.5E2\r\n")
    assert data.X[0, 0] == np.float32(1e-3) and np.isnan(data.X[0, 1]) and data.X[1, 1] == 250


def test_empty_file():
    data = read("")
    assert data.rows == 0 and data.y is not None and len(data.y) == 0


def test_channels_dispatch_to_this_reader():
    assert reader_for("text/libsvm") is read_libsvm


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("1 0:1\nabc 0:1\n", 2, "label is not a number"),
        ("1 0:1\n0 1:x\n", 2, "expected index:value"),
        ("1 0:1\n\n0 -1:2\n", 3, "expected index:value"),
        ("1 0:1 3\n", 1, "expected index:value"),
        ("0:1 1:1\n", 1, "expected a label first"),
        ("1 qid:3 0:1\n", 1, "expected index:value"),
        ("1 a:2\n", 1, "expected index:value"),
    ],
)
def test_bad_lines_name_file_and_line(text, line, message):
    with pytest.raises(ChannelDataError, match=message) as info:
        read(text)
    assert info.value.line == line and "train.libsvm" in str(info.value) and f"line {line}" in str(info.value)


def test_label_size_above_one_is_refused():
    with pytest.raises(ChannelDataError, match="one label per line"):
        read("1 0:1\n", label_size=2)
