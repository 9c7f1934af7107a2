"""Every request shape of SageMaker's "Common data formats for inference" page, dense and sparse, in JSON
and JSON Lines, through the one decoder (payloads.decode_features over instances.add_instance); and
hostile instances, each refused as a bad request naming the instance (or line) and the field."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from mlops.contract.errors import UnsupportedContentTypeError
from mlops.contract.payloads import decode_features
from mlops.contract.serving import BadRequestError

JSON, JSONLINES = "application/json", "application/jsonlines"
ROW = [1.5, 16.0, 14.0, 23.0]


def dense(result) -> np.ndarray:
    return result.toarray() if sp.issparse(result) else np.asarray(result)


DENSE_INSTANCES = [
    ROW,
    {"features": ROW},
    {"data": {"features": ROW}},  # "simple numeric vector" as the dataElement
    {"data": {"features": {"values": ROW}}},
    {"data": {"features": {"keys": [], "shape": [], "values": ROW}}},  # the page's protobuf equivalent
    {"data": {"features": {"keys": [], "values": ROW}}},
    {"data": {"features": {"shape": [4], "values": ROW}}},
    {"features": {"values": ROW}},
    {"configuration": {}, "data": {"features": {"values": ROW}}},  # per-request parameters: ignored
]


@pytest.mark.parametrize("instance", DENSE_INSTANCES, ids=[json.dumps(i)[:60] for i in DENSE_INSTANCES])
@pytest.mark.parametrize("features", [None, 4], ids=["width-unknown", "model-has-4"])
def test_every_dense_shape_in_json_and_json_lines(instance, features):
    twice = {"instances": [instance, instance]}
    lines = ((json.dumps(instance) + "\n") * 2).encode()
    for body, kind in ((json.dumps(twice).encode(), JSON), (lines, JSONLINES)):
        result = decode_features(body, kind, features)
        assert isinstance(result, np.ndarray) and result.dtype == np.float32, (body, kind)
        np.testing.assert_array_equal(result, [ROW, ROW])


def test_a_single_instance_object_without_instances():
    for instance in ({"features": ROW}, {"data": {"features": {"values": ROW}}}):
        np.testing.assert_array_equal(decode_features(json.dumps(instance).encode(), JSON), [ROW])


# The page's sparse example: two rows of a 2000-feature model.
SPARSE = {
    "instances": [
        {"data": {"features": {"keys": [26, 182, 232, 243, 431], "shape": [2000], "values": [1, 1, 1, 4, 1]}}},
        {"data": {"features": {"keys": [0, 182, 232, 243, 431], "shape": [2000], "values": [13, 1, 1, 4, 1]}}},
    ]
}


def expected_sparse(width: int) -> np.ndarray:
    rows = np.zeros((2, width), dtype=np.float32)
    rows[0, [26, 182, 232, 243, 431]] = [1, 1, 1, 4, 1]
    rows[1, [0, 182, 232, 243, 431]] = [13, 1, 1, 4, 1]
    return rows


@pytest.mark.parametrize("features", [None, 2000])
def test_the_documented_sparse_request_in_json_and_json_lines(features):
    lines = "".join(json.dumps(i) + "\n" for i in SPARSE["instances"]).encode()
    for body, kind in ((json.dumps(SPARSE).encode(), JSON), (lines, JSONLINES)):
        result = decode_features(body, kind, features)
        assert sp.issparse(result) and result.shape == (2, 2000) and result.dtype == np.float32
        np.testing.assert_array_equal(result.toarray(), expected_sparse(2000))


def test_the_documented_mixed_json_lines_body():
    body = (
        b'{"data": {"features": { "keys": [0, 1, 3], "shape": [4], "values": [1, 4, 1] } } }\n'
        b'{ "data": { "features": { "values": [ 1.5, 16.0, 14.0, 23.0] } } }\n'
        b'{ "features": [1.5, 16.0, 14.0, 23.0] }\n'
    )
    result = decode_features(body, JSONLINES, 4)
    np.testing.assert_array_equal(dense(result), [[1, 4, 0, 1], ROW, ROW])


@pytest.mark.parametrize("shape", [None, []], ids=["shape-omitted", "shape-empty"])
def test_sparse_without_a_shape_indexes_into_the_models_features(shape):
    features = {"keys": [2, 0], "values": [5.0, 7.0]}
    if shape is not None:
        features["shape"] = shape
    body = json.dumps({"instances": [{"data": {"features": features}}]}).encode()
    result = decode_features(body, JSON, 6)
    assert sp.issparse(result) and result.shape == (1, 6)
    np.testing.assert_array_equal(result.toarray(), [[7, 0, 5, 0, 0, 0]])
    # Without the model's width the row is as wide as its highest key.
    assert decode_features(body, JSON).shape == (1, 3)


def test_a_sparse_row_narrower_than_the_model_is_widened_and_an_empty_one_is_zeros():
    body = b'{"instances": [{"features": {"keys": [1], "shape": [2], "values": [3]}}, {"features": {"shape": [2], "values": []}}]}'
    result = decode_features(body, JSON, 5)
    assert result.shape == (2, 5)
    np.testing.assert_array_equal(result.toarray(), [[0, 3, 0, 0, 0], [0, 0, 0, 0, 0]])


def test_unsorted_keys_are_sorted_with_their_values():
    body = b'{"features": {"keys": [3, 1], "shape": [4], "values": [30, 10]}}'
    result = decode_features(body, JSON)
    assert result.has_sorted_indices
    np.testing.assert_array_equal(result.toarray(), [[0, 10, 0, 30]])


def short(value):
    return repr(value)[:50] if isinstance(value, bytes) else None


def _tensor(**fields) -> bytes:
    first = {"data": {"features": {"values": [1.0, 2.0, 3.0, 4.0]}}}
    return json.dumps({"instances": [first, {"data": {"features": fields}}]}).encode()


@pytest.mark.parametrize(
    ("body", "features", "message"),
    [
        # keys out of range: of the instance's shape, and of the model's features
        (_tensor(keys=[5], shape=[4], values=[1]), None, r"instance 2: \"data.features\": key 5 is out of range for 4"),
        (_tensor(keys=[9], values=[1]), 4, r"instance 2: \"data.features\": key 9 is out of range for 4 features"),
        (_tensor(keys=[1], shape=[2000], values=[1]), 4, r"instance 2: .*\"shape\" \[2000\], but the model has 4"),
        (_tensor(keys=[-1], shape=[4], values=[1]), None, r"instance 2: \"data.features\".keys holds -1, outside 0"),
        (
            _tensor(keys=[1, 1], shape=[4], values=[1, 2]),
            None,
            r"instance 2: \"data.features\": key 1 is given more than once",
        ),
        (_tensor(keys=[0, 1], shape=[4], values=[1]), None, r"instance 2: \"data.features\" has 1 values but 2 keys"),
        (_tensor(keys=[0], shape=[4], values=[1, 2]), None, r"instance 2: .* has 2 values but 1 keys"),
        (
            _tensor(keys=[0.5], shape=[4], values=[1]),
            None,
            r"instance 2: \"data.features\".keys must hold whole numbers",
        ),
        (_tensor(keys=[True], shape=[4], values=[1]), None, r"instance 2: .*keys must hold whole numbers"),
        (
            _tensor(keys="0", shape=[4], values=[1]),
            None,
            r"instance 2: .*keys must be a list of whole numbers, found a string",
        ),
        # huge or broken shapes, refused before anything that size is made
        (_tensor(keys=[0], shape=[10**30], values=[1]), None, r"instance 2: \"data.features\".shape holds 1000000"),
        (
            _tensor(keys=[0], shape=[2**20, 2**20], values=[1]),
            None,
            r"instance 2: .*shape \[1048576, 1048576\] holds more than",
        ),
        (_tensor(keys=[0], shape=[0], values=[1]), None, r"instance 2: .*shape holds 0, outside 1"),
        (_tensor(keys=[0], shape=[1e400], values=[1]), None, r"instance 2: .*shape must hold whole numbers"),
        (_tensor(values=[1, 2], shape=[3]), None, r"instance 2: .* holds 2 \"values\" but its \"shape\" \[3\] says 3"),
        # values
        (
            _tensor(keys=[0], shape=[4]),
            None,
            r"instance 2: \"data.features\".values must be a list of numbers, found null",
        ),
        (_tensor(values=[[1], [2]]), None, r"instance 2: .*values must be a flat list"),
        (_tensor(values=["a"]), None, r"instance 2: .*values must be a list of numbers"),
        (
            _tensor(values=[1], weights=[2]),
            None,
            r"instance 2: .*may hold \"values\", \"keys\" and \"shape\" only, found 'weights'",
        ),
        # dense rows against the model's width, and against each other
        (b'{"instances": [[1, 2, 3], [1, 2]]}', None, "instance 2: expected 3 features, found 2"),
        (b'{"instances": [[1, 2, 3]]}', 4, "instance 1: the instance holds 3 values; the model has 4 features"),
        (b'{"instances": [{"features": [1]}]}', 4, r"instance 1: \"features\" holds 1 values; the model has 4"),
        # wrong structure
        (
            b'{"instances": [{"data": [1, 2]}]}',
            None,
            r"instance 1: \"data\" must be an object holding \"features\", found a list",
        ),
        (
            b'{"instances": [{"data": {"values": [1]}}]}',
            None,
            r"instance 1: an object instance needs a \"features\" key \(keys found: values\)",
        ),
        (b'{"instances": ["1,2"]}', None, "instance 1: features must be a list of numbers .*found a string"),
        (b'{"instances": {"features": [1]}}', None, r"expected \{\"instances\": \[...\]\}"),
        (b'{"instances": [[[[1]]]]}', None, "instance 1: the instance must be a flat list"),
        (b"[" * 100_000 + b"]" * 100_000, None, "nested too deeply|not valid JSON"),
        (b'{"instances": [' + b'{"data": ' * 5000 + b"1" + b"}" * 5000 + b"]}", None, "nested too deeply|instance 1"),
    ],
    ids=short,
)
def test_hostile_json_instances_are_bad_requests_naming_instance_and_field(body, features, message):
    with pytest.raises(BadRequestError, match=message):
        decode_features(body, JSON, features)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"features": [1, 2]}\n\n{"data": {"features": {"keys": [7], "shape": [4], "values": [1]}}}\n',
            "line 3: .*key 7 is out of range",
        ),
        (
            b'{"features": [1, 2]}\n{"features": {"keys": [0, 0], "values": [1, 1]}}\n',
            "line 2: .*key 0 is given more than once",
        ),
        (b'{"features": [1, 2]}\n{"features": [1, 2}\n', "line 2 is not valid JSON"),
        (b"[" * 100_000 + b"\n", "line 1 is nested too deeply|line 1 is not valid JSON"),
        (b'{"features": [1, 2]}\n{"features": [1]}\n', "line 2: expected 2 features, found 1"),
    ],
    ids=short,
)
def test_hostile_json_lines_are_bad_requests_naming_the_line(body, message):
    with pytest.raises(BadRequestError, match=message):
        decode_features(body, JSONLINES)


def test_only_the_algorithms_declared_types_are_read():
    with pytest.raises(UnsupportedContentTypeError, match="use one of text/csv$"):
        decode_features(b'{"instances": [[1]]}', JSON, supported=("text/csv",))
    np.testing.assert_array_equal(decode_features(b"1,2\n", "csv", supported=("text/csv",)), [[1, 2]])
