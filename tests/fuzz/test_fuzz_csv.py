"""Fuzzing text/csv (csv_format.py): a correct parse or a ChannelDataError naming channel, file and line.

Seeds: tests/fuzz/seeds/csv/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mlops.contract.csv_format import encode_csv, label_size_of, read_csv
from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError
from tests.fuzz.formats import CSV_TOKENS, csv_files, matrices
from tests.fuzz.mutations import mutated
from tests.fuzz.rules import counted, parse_or_named, read, seed_files, seeds


@given(csv_files())
@counted
def test_csv_reads_back_what_was_written(file: tuple[bytes, np.ndarray, np.ndarray | None]) -> None:
    body, X, y = file
    if X.shape[1] == 1 and y is None and np.isnan(X).any():
        return  # an empty line is a skipped line, not a missing value: a one-column file cannot say NaN
    data = read(read_csv, body, 0 if y is None else 1)
    assert isinstance(data, LabeledData), data
    np.testing.assert_array_equal(data.X, X)
    if y is not None:
        np.testing.assert_array_equal(data.y, y)


@given(mutated(csv_files().map(lambda f: f[0]) | st.sampled_from(seeds("csv")), CSV_TOKENS), st.sampled_from([0, 1]))
@counted
def test_csv_mutated(body: bytes, label_size: int) -> None:
    read(read_csv, body, label_size)


@given(st.binary(max_size=256), st.sampled_from([0, 1]))
@example(b"\r\x80", 0)  # found: a lone CR ends a line for pandas but not for the csv module (_csv.Error)
@example(b"1,2\r3,x\n", 1)
@example(b'1,2\n"' + b"a" * 200_000 + b'"\n', 0)  # found: a quoted field over the csv module's limit
@example(b"1,-4.9e+19999999999999999999999999999996\n", 1)  # found: SIGSEGV in pandas' C parser
@counted
def test_csv_arbitrary_bytes(body: bytes, label_size: int) -> None:
    read(read_csv, body, label_size)


@given(st.text(max_size=64))
@counted
def test_label_size_of_any_content_type(parameters: str) -> None:
    content_type = "text/csv;" + parameters
    result = parse_or_named(lambda: label_size_of(content_type), (ChannelDataError,))
    assert isinstance(result, int | ChannelDataError)


@given(matrices)
@counted
def test_encode_csv_reads_back(X: np.ndarray) -> None:
    data = read(read_csv, encode_csv(X), 0)  # NaN is written as "nan", which reads back as NaN
    assert isinstance(data, LabeledData), data
    np.testing.assert_array_equal(data.X, X)


@pytest.mark.parametrize("exponent", [b"e2147483648", b"E+2147483648", b"e-2147483649", b"e3104049863"])
def test_an_exponent_past_a_c_int_does_not_kill_the_process(exponent: bytes) -> None:
    """Found by fuzzing: pandas 2.3's C parser crashed the process (SIGSEGV) on such exponents; a model
    server reading a CSV request died with it. Read in a child process, so that a crash fails this test
    instead of ending the run."""
    body = b'"1",4' + exponent + b"\n" + b"2,3\n" * 20_000  # quoted and over 64 KiB: no fast path spares it
    code = (
        "import io, sys\n"
        "from mlops.contract.csv_format import read_csv\n"
        "from mlops.contract.payloads import decode_features\n"
        "body = sys.stdin.buffer.read()\n"
        "print(read_csv(io.BytesIO(body), 'train', 'part-0', 1).X[0].tolist(), decode_features(body, 'text/csv')[0].tolist())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], input=body, capture_output=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.split() in (b"[inf] [1.0, inf]".split(), b"[0.0] [1.0, 0.0]".split()), done.stdout


@pytest.mark.parametrize("path", seed_files("csv"), ids=lambda p: p.name)
def test_every_seed(path: Path) -> None:
    for label_size in (0, 1):
        read(read_csv, path.read_bytes(), label_size)
