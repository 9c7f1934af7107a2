"""Valid inputs of every format the contract reads, as hypothesis strategies: the seeds that the
mutations start from, and the round trips that say a parse is correct."""

from __future__ import annotations

import io
import json

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlops.contract.recordio import encode_dense, write_sparse

floats32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
small_shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5)
matrices = hnp.arrays(np.float32, small_shapes, elements=floats32)
line_ends = st.sampled_from(["\n", "\r\n", "\r"])


def _cell(v: float) -> str:
    return "" if np.isnan(v) else f"{v:.9g}"


# ---------------------------------------------------------------------------------------------------- CSV


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, np.ndarray, np.ndarray | None]:
    """(body, X, y): label first when y is not None; NaN written as an empty field."""
    X = draw(matrices)
    labelled = draw(st.booleans())
    y = draw(hnp.arrays(np.float32, (X.shape[0],), elements=finite32)) if labelled else None
    end = draw(line_ends)
    rows = [[*([] if y is None else [y[i]]), *X[i]] for i in range(X.shape[0])]
    text = end.join(",".join(_cell(v) for v in row) for row in rows) + draw(st.sampled_from(["", end]))
    return text.encode(), X, y


CSV_TOKENS = (b",,", b'"1"', b'"a,b"', b'"\n"', b"\r", b"1,")

# ------------------------------------------------------------------------------------------------- libsvm


@st.composite
def libsvm_files(draw: st.DrawFn) -> tuple[bytes, sp.csr_matrix, np.ndarray | None]:
    """(body, X, y): ``label index:value ...`` with zero-based indices, zeros left out."""
    dense = draw(
        hnp.arrays(
            np.float32,
            hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
            elements=st.sampled_from([0.0, 0.0, 1.0, -2.5, 3e-8, 1e30]) | floats32.filter(lambda v: v != 0),
        )
    )
    labelled = draw(st.booleans())
    y = draw(hnp.arrays(np.float32, (dense.shape[0],), elements=floats32)) if labelled else None
    end = draw(line_ends)
    lines = []
    for i, row in enumerate(dense):
        tokens = [] if y is None else [f"{y[i]:.9g}"]
        tokens += [f"{j}:{v:.9g}" for j, v in enumerate(row) if v != 0]
        lines.append(draw(st.sampled_from([" ", "\t", "  "])).join(tokens))
    return end.join(lines).encode(), sp.csr_matrix(dense), y


LIBSVM_TOKENS = (b"qid:1", b"1:2:3", b":", b"-1:0", b"4611686018427387904:1", b"1:", b" # comment")

# -------------------------------------------------------------------------------------------- JSON lines

json_numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([None, 0, -1, 1e39, 1e400, True]),
)
json_keys = st.sampled_from(["features", "label", "data", "keys", "shape", "values", "x"])
json_values = st.recursive(
    json_numbers | st.sampled_from(["", "1", "a", "\u00e9", [], {}]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_keys, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def json_instances(draw: st.DrawFn) -> object:
    """An instance in one of SageMaker's shapes (dense, sparse, wrapped in "data"), with random values
    where the numbers go and now and then a random JSON value instead of the shape."""
    numbers = st.lists(json_numbers, max_size=5)
    features = st.one_of(
        numbers,
        st.fixed_dictionaries(
            {"values": numbers, "keys": st.lists(st.integers(-2, 2**63 + 2), max_size=5)},
            optional={"shape": st.lists(st.integers(-1, 2**40), max_size=3)},
        ),
        json_values,
    )
    instance = st.one_of(
        features,
        st.fixed_dictionaries({"features": features}, optional={"label": json_numbers | numbers | json_values}),
    )
    drawn = draw(instance)
    return {"data": drawn} if isinstance(drawn, dict) and draw(st.booleans()) else drawn


def dump(instance: object) -> bytes:
    return json.dumps(instance).encode()  # NaN and Infinity as Python writes them


@st.composite
def jsonlines_files(draw: st.DrawFn) -> bytes:
    lines = [dump(i) for i in draw(st.lists(json_instances(), min_size=1, max_size=5))]
    return draw(st.sampled_from([b"\n", b"\r\n"])).join(lines)


@st.composite
def json_documents(draw: st.DrawFn) -> bytes:
    """An application/json request body: {"instances": [...]}, one instance, or a list of rows."""
    instances = draw(st.lists(json_instances(), max_size=4))
    document = draw(
        st.sampled_from(["instances", "one", "rows", "other"]).map(
            lambda form: {"instances": instances}
            if form == "instances"
            else (instances[0] if instances else {}) if form == "one"
            else instances if form == "rows"
            else {"rows": instances}
        )
    )
    return dump(document)


JSON_TOKENS = (b"[", b"{", b'{"a":', b'{"features":', b"]", b"}", b"null", b"1e400", b"-", b'"\\ud800"')

# ------------------------------------------------------------------------------------------------ RecordIO

record_dtypes = st.sampled_from([np.float32, np.float64, np.int32])


@st.composite
def dense_records(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None]:
    X = draw(hnp.arrays(draw(record_dtypes), draw(small_shapes)))  # NaN, inf and extremes included
    rows = X.shape[0]
    y = draw(st.none() | hnp.arrays(draw(record_dtypes), st.sampled_from([(rows,), (rows, 2)])))
    return X, y


@st.composite
def sparse_records(draw: st.DrawFn) -> tuple[sp.csr_matrix, np.ndarray | None]:
    dense = draw(hnp.arrays(draw(record_dtypes), draw(small_shapes), elements=st.sampled_from([0, 0, 0, 1, -2, 7])))
    y = draw(st.none() | hnp.arrays(np.float32, (dense.shape[0],), elements=finite32))
    return sp.csr_matrix(dense), y


def encode_sparse(X: sp.csr_matrix, y: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_sparse(buffer, X, y)
    return buffer.getvalue()


recordio_files = st.one_of(
    dense_records().map(lambda r: encode_dense(*r)),
    sparse_records().map(lambda r: encode_sparse(*r)),
)
