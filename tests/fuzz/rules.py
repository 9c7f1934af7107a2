"""The rule every fuzz property checks, and what the fuzz folder counts.

A surface given hostile input either answers correctly or raises one of the errors it is documented to
raise (``named``); any other exception escapes to hypothesis, which shrinks and reports it. ``counted``
counts each execution of a property, so the run can say how much fuzzing it did.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError

SEEDS = Path(__file__).parent / "seeds"
EXAMPLES = int(os.environ.get("MLOPS_FUZZ_EXAMPLES", "250"))
IN_CI = bool(os.environ.get("CI"))
EXECUTIONS: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()

F = TypeVar("F", bound=Callable[..., Any])


def counted(function: F) -> F:
    """Count the executions of a property (put it under ``@given``)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        EXECUTIONS[function.__name__] += 1
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SECONDS[function.__name__] += time.perf_counter() - started

    return run  # type: ignore[return-value]


def examples(share: float) -> int:
    """Examples for a property that costs more than most: a share of MLOPS_FUZZ_EXAMPLES, at least 10."""
    return max(10, int(EXAMPLES * share))


def seeds(surface: str) -> list[bytes]:
    """The committed corpus of one surface: tests/fuzz/seeds/<surface>/*, sorted by name."""
    return [p.read_bytes() for p in sorted((SEEDS / surface).iterdir()) if p.is_file()]


def seed_files(surface: str) -> list[Path]:
    return sorted(p for p in (SEEDS / surface).iterdir() if p.is_file())


def parse_or_named(call: Callable[[], Any], named: tuple[type[BaseException], ...]) -> Any:
    """What ``call`` returns, or the named error it raised; any other exception propagates."""
    try:
        return call()
    except named as e:
        assert str(e).strip(), f"{type(e).__name__} without a message"
        return e


def check_channel_error(error: ChannelDataError, channel: str, file: str) -> None:
    """A reader's error names the channel and the file it read."""
    assert str(error).startswith(f"channel {channel!r}, file {file}"), str(error)
    assert error.line is None or error.line >= 1, error.line


def check_features(X: Any) -> int:
    """Features are a float32 matrix, dense or CSR, with consistent CSR structure; returns the rows."""
    if sp.issparse(X):
        assert X.format == "csr" and X.dtype == np.float32, (X.format, X.dtype)
        rows, columns = X.shape
        assert len(X.indptr) == rows + 1 and X.indptr[0] == 0 and (np.diff(X.indptr) >= 0).all()
        assert X.indptr[-1] == len(X.indices) == len(X.data)
        assert ((X.indices >= 0) & (X.indices < max(columns, 1))).all() or not len(X.indices)
        return int(rows)
    assert isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2, (type(X), getattr(X, "shape", None))
    return int(X.shape[0])


def check_labeled(data: LabeledData, label_size: int) -> None:
    rows = check_features(data.X)
    assert data.rows == rows
    if data.y is not None:
        assert label_size, "labels returned although label_size=0"
        assert isinstance(data.y, np.ndarray) and data.y.dtype == np.float32 and data.y.ndim in (1, 2)
        assert data.y.shape[0] == rows, (data.y.shape, rows)


def peak_bytes(call: Callable[[], Any]) -> int:
    """The peak of Python and numpy allocations while ``call`` runs (its exceptions are swallowed)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        with contextlib.suppress(Exception):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def read(reader: Callable[..., LabeledData], body: bytes, label_size: int = 1) -> LabeledData | ChannelDataError:
    """A channel reader on ``body`` (channel "train", file "part-0"): its data, checked, or its named error."""
    result = parse_or_named(lambda: reader(io.BytesIO(body), "train", "part-0", label_size), (ChannelDataError,))
    if isinstance(result, ChannelDataError):
        check_channel_error(result, "train", "part-0")
    else:
        check_labeled(result, label_size)
    return result
