"""Inference payload codecs: every request type into features, predictions into every Accept type."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import scipy.sparse as sp

from mlops.contract.errors import UnsupportedContentTypeError
from mlops.contract.payloads import decode_features, decode_predictions, encode_predictions
from mlops.contract.recordio import decode_label_maps, encode_dense, write_sparse
from mlops.contract.serving import BadRequestError

ROWS = np.array([[1.5, 2.0, -3.0], [0.0, 4.25, 5.0]], dtype=np.float32)


def dense(result) -> np.ndarray:
    return result.toarray() if sp.issparse(result) else result


# ------------------------------------------------------------------------------------------------ decoding


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"1.5,2,-3\n0,4.25,5\n", "text/csv"),
        (b"1.5,2,-3\r\n0,4.25,5", "text/csv; charset=utf-8"),
        (b'{"instances": [[1.5, 2, -3], [0, 4.25, 5]]}', "application/json"),
        (b'{"instances": [{"features": [1.5, 2, -3]}, {"features": [0, 4.25, 5]}]}', "application/json"),
        (b"[[1.5, 2, -3], [0, 4.25, 5]]", "application/json"),
        (b'{"features": [1.5, 2, -3]}\n{"features": [0, 4.25, 5]}\n', "application/jsonlines"),
        (b"[1.5, 2, -3]\n[0, 4.25, 5]\n", "application/jsonlines"),
        (encode_dense(ROWS), "application/x-recordio-protobuf"),
        (b"0:1.5 1:2 2:-3\n1:4.25 2:5\n", "text/libsvm"),
        (b"0 0:1.5 1:2 2:-3\n0 1:4.25 2:5\n", "text/libsvm"),  # SageMaker XGBoost style: dummy label first
        (b"# comment\n\n1 0:1.5 1:2 2:-3\n0 1:4.25 2:5\n", "text/x-libsvm"),
    ],
)
def test_every_request_type_decodes_to_the_same_rows(body, content_type):
    result = decode_features(body, content_type)
    assert result.dtype == np.float32 and result.shape == ROWS.shape
    np.testing.assert_array_equal(dense(result), ROWS)


def test_small_csv_fast_path_agrees_with_the_full_reader():
    rows = np.random.default_rng(0).normal(size=(3000, 5))
    lines = [",".join("" if (i + j) % 11 == 0 else f"{v:.4f}" for j, v in enumerate(row)) for i, row in enumerate(rows)]
    expected = np.array([[float(c) if c else np.nan for c in line.split(",")] for line in lines], dtype=np.float32)
    large = "\n".join(lines).encode()
    assert len(large) > 65536  # parsed by csv_format.read_csv (pandas)
    np.testing.assert_array_equal(decode_features(large, "text/csv"), expected)
    small = "\n".join(lines[:50]).encode()  # parsed without pandas
    np.testing.assert_array_equal(decode_features(small, "text/csv"), expected[:50])


def test_single_instance_forms():
    for body in (b'{"features": [1, 2]}', b"[1, 2]", b'{"instances": [{"data": {"features": [1, 2]}}]}'):
        np.testing.assert_array_equal(decode_features(body, "application/json"), [[1, 2]])


def test_sparse_payloads_stay_sparse():
    body = b'{"instances": [{"data": {"features": {"keys": [4], "shape": [6], "values": [2.5]}}}]}'
    result = decode_features(body, "application/json")
    assert sp.issparse(result) and result.shape == (1, 6) and result[0, 4] == 2.5
    buffer = io.BytesIO()
    write_sparse(buffer, sp.csr_matrix(ROWS))
    assert sp.issparse(decode_features(buffer.getvalue(), "application/x-recordio-protobuf"))
    assert sp.issparse(decode_features(b"0:1 5:2\n", "text/libsvm"))


def test_json_nulls_are_missing_values():
    result = decode_features(b'{"instances": [[1, null]]}', "application/json")
    assert np.isnan(result[0, 1])


def test_unknown_content_type_lists_the_supported_ones():
    with pytest.raises(UnsupportedContentTypeError, match="image/png") as info:
        decode_features(b"\x89PNG", "image/png")
    for supported in ("text/csv", "application/json", "application/jsonlines", "text/libsvm"):
        assert supported in str(info.value)
    assert "application/x-recordio-protobuf" in str(info.value)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "text/csv", "empty"),
        (b"  \n", "application/json", "empty"),
        (b"1,2\nx,3\n", "text/csv", "line 2: field 1 is not a number"),
        (b'{"instances": [[1, 2], [3]]', "application/json", "not valid JSON"),
        (b'{"instances": [[1, 2], [3]]}', "application/json", "instance 2: expected 2 features, found 1"),
        (b'{"instances": [1, 2]}', "application/json", "instance 1: features must be a list"),
        (b'{"instances": [{"x": [1]}]}', "application/json", '"features" key'),
        (b'{"rows": [[1]]}', "application/json", "instances"),
        (b'"text"', "application/json", "instances"),
        (b'{"features": [1]}\n{"features": [1, 2]}\n', "application/jsonlines", "line 2: expected 1 features"),
        (b"not recordio at all", "application/x-recordio-protobuf", "record 1: not RecordIO"),
        (encode_dense(ROWS)[:-3], "application/x-recordio-protobuf", "record 2: truncated"),
        (b"0:1 1:x\n", "text/libsvm", "line 1: expected index:value"),
    ],
)
def test_bad_bodies_are_bad_requests(body, content_type, message):
    with pytest.raises(BadRequestError, match=message):
        decode_features(body, content_type)


# ------------------------------------------------------------------------------------------------ encoding

RECORDS = [{"score": 0.75, "predicted_label": 1}, {"score": 0.125, "predicted_label": 0}]


def test_json_predictions_shape():
    body, content_type = encode_predictions(RECORDS, "application/json")
    assert content_type == "application/json"
    assert json.loads(body) == {"predictions": RECORDS}


def test_numpy_values_are_serialised_plainly():
    records = [{"score": np.float32(0.1), "label": np.int64(2), "probabilities": np.array([0.1, 0.9], np.float32)}]
    body, _ = encode_predictions(records, "application/json")
    assert body == b'{"predictions": [{"score": 0.1, "label": 2, "probabilities": [0.1, 0.9]}]}'


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -np.inf, np.float32("nan"), np.float64("inf")])
def test_a_non_finite_score_is_null_in_json_and_a_number_in_csv_and_recordio(bad):
    """JSON has no NaN or Infinity (RFC 8259): the answer stays valid JSON, the score null."""
    records = [{"score": bad, "predicted_label": 1, "probabilities": np.array([bad, 0.5], dtype=np.float32)}]
    strict = {"parse_constant": lambda c: pytest.fail(f"bare {c} in the answer")}
    body, _ = encode_predictions(records, "application/json")
    assert json.loads(body, **strict) == {"predictions": [{"score": None, "predicted_label": 1, "probabilities": [None, 0.5]}]}
    body, _ = encode_predictions(records, "application/jsonlines")
    assert json.loads(body, **strict) == {"score": None, "predicted_label": 1, "probabilities": [None, 0.5]}
    body, _ = encode_predictions(records, "text/csv")
    assert float(body) == float(bad) or (np.isnan(float(body)) and np.isnan(bad))
    score = decode_label_maps(encode_predictions(records, "application/x-recordio-protobuf")[0])[0]["score"][0]
    assert score == bad or (np.isnan(score) and np.isnan(bad))


def test_jsonlines_predictions():
    body, content_type = encode_predictions(RECORDS, "application/jsonlines")
    assert content_type == "application/jsonlines"
    assert [json.loads(line) for line in body.decode().splitlines()] == RECORDS


def test_csv_predictions_use_the_score():
    body, content_type = encode_predictions(RECORDS, "text/csv")
    assert (body, content_type) == (b"0.75\n0.125\n", "text/csv")
    body, _ = encode_predictions([{"score": [0.2, 0.8]}, {"score": [0.6, 0.4]}], "text/csv")
    assert body == b"0.2,0.8\n0.6,0.4\n"


def test_csv_predictions_without_score_join_the_values():
    body, _ = encode_predictions([{"predicted_label": 1, "distances": [0.5, 2.0]}], "text/csv")
    assert body == b"1,0.5,2.0\n"


def test_recordio_predictions_hold_a_label_map_of_float32_tensors():
    body, content_type = encode_predictions(RECORDS, "application/x-recordio-protobuf")
    assert content_type == "application/x-recordio-protobuf"
    maps = decode_label_maps(body)
    assert [sorted(m) for m in maps] == [["predicted_label", "score"]] * 2
    assert maps[0]["score"].dtype == np.float32
    assert maps[0]["score"].tolist() == [0.75] and maps[1]["predicted_label"].tolist() == [0.0]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("*/*", "application/json"),
        ("", "application/json"),
        ("application/json; charset=utf-8", "application/json"),
        ("image/png, text/csv;q=0.9", "text/csv"),
    ],
)
def test_accept_negotiation(accept, expected):
    assert encode_predictions(RECORDS, accept)[1] == expected


def test_unknown_accept_type():
    with pytest.raises(UnsupportedContentTypeError, match="image/png"):
        encode_predictions(RECORDS, "image/png")


@pytest.mark.parametrize(
    "accept", ["application/json", "application/jsonlines", "text/csv", "application/x-recordio-protobuf"]
)
def test_every_answer_type_reads_back(accept):
    records = [{"score": 0.75, "predicted_label": 1}, {"score": float("nan"), "predicted_label": 0}]
    body, kind = encode_predictions(records, accept)
    rows = decode_predictions(body, kind)
    if accept == "text/csv":
        assert rows[0] == 0.75 and np.isnan(rows[1])
    elif accept == "application/x-recordio-protobuf":
        assert rows[0] == {"score": [0.75], "predicted_label": [1.0]} and np.isnan(rows[1]["score"][0])
    else:
        assert rows == [records[0], {"score": None, "predicted_label": 0}]


@pytest.mark.parametrize(
    ("body", "kind", "error"),
    [
        (b"\xd7\x23", "application/json", "not UTF-8 text"),
        (b"0.5\nx\n", "text/csv", "line 2 of the CSV answer is not numbers"),
        (b"\x0a\x23\xd7\xce\xff\xff\xff\x1f", "application/x-recordio-protobuf", "truncated|RecordIO|record"),
        (b"{", "application/jsonlines", "Expecting"),
    ],
)
def test_unreadable_answers_raise_value_errors(body, kind, error):
    with pytest.raises(ValueError, match=error):
        decode_predictions(body, kind)
    with pytest.raises(UnsupportedContentTypeError, match="image/png"):
        decode_predictions(body, "image/png")
