"""Fuzzing the InvokeEndpoint payload codecs (payloads.py) the model servers use.

``decode_features`` answers features or raises BadRequestError (HTTP 400) or UnsupportedContentTypeError
(415); ``encode_predictions`` answers a body in the negotiated type or raises UnsupportedContentTypeError.
Seeds: tests/fuzz/seeds/json/ and every reader's seeds, under each request type.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mlops.contract.csv_format import read_csv
from mlops.contract.errors import ChannelDataError, UnsupportedContentTypeError
from mlops.contract.payloads import REQUEST_TYPES, RESPONSE_TYPES, decode_features, encode_predictions
from mlops.contract.recordio import decode_label_maps
from mlops.contract.serving import BadRequestError
from tests.fuzz.formats import (
    CSV_TOKENS,
    JSON_TOKENS,
    LIBSVM_TOKENS,
    csv_files,
    json_documents,
    jsonlines_files,
    libsvm_files,
    recordio_files,
)
from tests.fuzz.mutations import mutated
from tests.fuzz.rules import check_features, counted, parse_or_named, seed_files, seeds

NAMED = (BadRequestError, UnsupportedContentTypeError)
ALIASES = ("csv", "json", "application/json-lines", "application/x-jsonlines", "application/x-recordio", "libsvm")

content_types = st.one_of(
    st.sampled_from(REQUEST_TYPES + ALIASES),
    st.sampled_from(REQUEST_TYPES).map(str.upper),
    st.tuples(st.sampled_from(REQUEST_TYPES), st.text(max_size=24)).map(lambda t: f"{t[0]};{t[1]}"),
    st.text(max_size=32),
)


def decode(body: bytes, content_type: str) -> object:
    result = parse_or_named(lambda: decode_features(body, content_type), NAMED)
    if not isinstance(result, Exception):
        check_features(result)
    return result


bodies_by_type = {
    "text/csv": mutated(csv_files().map(lambda f: f[0]) | st.sampled_from(seeds("csv")), CSV_TOKENS),
    "text/libsvm": mutated(libsvm_files().map(lambda f: f[0]) | st.sampled_from(seeds("libsvm")), LIBSVM_TOKENS),
    "application/jsonlines": mutated(jsonlines_files() | st.sampled_from(seeds("jsonlines")), JSON_TOKENS),
    "application/json": mutated(json_documents() | st.sampled_from(seeds("json")), JSON_TOKENS),
    "application/x-recordio-protobuf": mutated(recordio_files),
}


@given(st.data())
@counted
def test_valid_bodies_decode(data: st.DataObject) -> None:
    """Unmutated bodies of every type: features, or a named error for a shape the codec refuses."""
    content_type = data.draw(st.sampled_from(REQUEST_TYPES))
    strategy = {
        "text/csv": csv_files().map(lambda f: f[0]),
        "text/libsvm": libsvm_files().map(lambda f: f[0]),
        "application/jsonlines": jsonlines_files(),
        "application/json": json_documents(),
        "application/x-recordio-protobuf": recordio_files,
    }[content_type]
    decode(data.draw(strategy), content_type)


@given(st.data())
@counted
def test_mutated_bodies_of_each_type(data: st.DataObject) -> None:
    content_type = data.draw(st.sampled_from(REQUEST_TYPES))
    decode(data.draw(bodies_by_type[content_type]), content_type)


@given(st.binary(max_size=256), content_types)
@counted
def test_arbitrary_bodies_and_content_types(body: bytes, content_type: str) -> None:
    decode(body, content_type)


@given(st.sampled_from([b"[", b'{"instances":[', b'{"features":', b'{"data":']), st.integers(900, 200_000))
@counted
def test_deeply_nested_json(opening: bytes, depth: int) -> None:
    assert isinstance(decode(opening * depth, "application/json"), BadRequestError)


@given(csv_files().map(lambda f: f[0]) | mutated(csv_files().map(lambda f: f[0]), CSV_TOKENS))
@example(b"1_0,2\n")  # found: the fast path read "1_0" as 10 (Python's float), the full reader refuses it
@example(b" 1 , 2 \n")
@example(b"1e390\n")  # found: pandas refused a number beyond float64 (the fast path read inf)
@example(b"\x001,2\n")  # found: pandas read "\x001" as NaN
@counted
def test_small_csv_fast_path_agrees_with_the_full_reader(body: bytes) -> None:
    """A small body (parsed without pandas) gets the same answer as csv_format.read_csv gives it."""
    fast = decode(body, "text/csv")
    full = parse_or_named(lambda: read_csv(io.BytesIO(body), "request", "body", 0), (ChannelDataError,))
    if isinstance(full, ChannelDataError) or not body.strip():
        assert isinstance(fast, BadRequestError), (body, fast)
    else:
        assert isinstance(fast, np.ndarray), (body, fast)
        np.testing.assert_array_equal(fast, full.X)


# ------------------------------------------------------------------------------------------------ encoding

scores = st.floats(allow_nan=False) | st.integers(-(2**31), 2**31) | st.booleans()
prediction_values = st.one_of(
    scores,
    st.lists(scores, max_size=3),
    st.lists(st.floats(width=32, allow_nan=False), max_size=3).map(lambda v: np.array(v, dtype=np.float32)),
    st.floats(width=32, allow_nan=False).map(np.float32),
)
records = st.lists(
    st.dictionaries(st.sampled_from(["score", "predicted_label", "probabilities", "x"]), prediction_values, min_size=1),
    max_size=4,
)
accepts = st.one_of(
    st.sampled_from([*RESPONSE_TYPES, "", "*/*", "application/*", "text/*", "text/csv;q=0.5, application/json"]),
    st.lists(st.sampled_from([*RESPONSE_TYPES, "image/png", "*/*", "text/html; q=0.1"]), max_size=3).map(", ".join),
    st.text(max_size=32),
)


@given(records, accepts)
@counted
def test_predictions_encode_in_the_negotiated_type(rows: list[dict[str, object]], accept: str) -> None:
    result = parse_or_named(lambda: encode_predictions(rows, accept), (UnsupportedContentTypeError,))
    if isinstance(result, UnsupportedContentTypeError):
        return
    body, content_type = result
    assert content_type in RESPONSE_TYPES
    if content_type == "application/json":
        assert len(json.loads(body)["predictions"]) == len(rows)
    elif content_type in ("application/jsonlines", "text/csv"):
        assert len(body.splitlines()) == len(rows)
    else:
        assert len(decode_label_maps(body)) == len(rows)


@pytest.mark.parametrize(
    ("content_type", "path"),
    [
        (content_type, path)
        for content_type, surface in [
            ("text/csv", "csv"),
            ("text/libsvm", "libsvm"),
            ("application/jsonlines", "jsonlines"),
            ("application/json", "json"),
            ("application/x-recordio-protobuf", "recordio"),
        ]
        for path in seed_files(surface)
    ],
    ids=lambda v: v.name if isinstance(v, Path) else v,
)
def test_every_seed(content_type: str, path: Path) -> None:
    decode(path.read_bytes(), content_type)
