"""The algorithms' own model servers (their ``serve`` entry points as local processes, on tiny models made
here): SageMaker's request shapes, the answer type without an Accept header (algorithm.json's
DefaultResponseMIMEType), and 415 naming the declared types for a type the algorithm does not declare."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlops.runtime.health import free_port, ping

ALGORITHMS = Path(__file__).resolve().parents[3] / "algorithms"
FEATURES = 4


def _serve(algorithm: str, root: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MLOPS_CONTRACT_ROOT": str(root), "SAGEMAKER_BIND_TO_PORT": str(port), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(ALGORITHMS / algorithm / "serve")], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not ping(url):
        assert proc.poll() is None and time.monotonic() < deadline, "the model server did not start"
        time.sleep(0.1)
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def xgboost_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import xgboost as xgb

    root = tmp_path_factory.mktemp("xgboost")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, FEATURES)).astype(np.float32)
    y = (X[:, 0] + X[:, 2] > 0).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(X, label=y), num_boost_round=3)
    (root / "model").mkdir()
    (root / "model" / "xgboost-model").write_bytes(bytes(booster.save_raw("ubj")))
    yield from _serve("xgboost", root)


@pytest.fixture(scope="module")
def byoc_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("byoc")
    (root / "model").mkdir()
    model = {"intercept": 0.5, "weights": [1.0, -1.0, 0.5, 2.0], "mean": [0.0] * FEATURES, "std": [1.0] * FEATURES}
    (root / "model" / "model.json").write_text(json.dumps(model))
    yield from _serve("byoc-example", root)


def post(url: str, body: bytes, content_type: str, accept: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    request = urllib.request.Request(url + "/invocations", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), bytes(response.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), bytes(e.read())


ROW = [0.5, -1.0, 2.0, 0.25]


def test_xgboost_answers_libsvm_without_accept_in_its_default_response_type(xgboost_url: str) -> None:
    status, kind, body = post(xgboost_url, b"0 0:0.5 1:-1 2:2 3:0.25\n", "text/libsvm")
    assert (status, kind) == (200, "text/csv"), body
    dense = post(xgboost_url, b"0.5,-1,2,0.25\n", "text/csv")[2]
    assert body == dense and 0 < float(body) < 1


@pytest.mark.parametrize(
    "document",
    [
        {"instances": [ROW]},
        {"instances": [{"features": ROW}]},
        {"instances": [{"data": {"features": {"values": ROW}}}]},
        {"instances": [{"data": {"features": {"keys": [], "shape": [], "values": ROW}}}]},
        {"instances": [{"data": {"features": {"keys": [0, 1, 2, 3], "shape": [4], "values": ROW}}}]},
        {"instances": [{"data": {"features": {"keys": [3, 0, 1, 2], "values": [0.25, 0.5, -1.0, 2.0]}}}]},
    ],
    ids=["rows", "features", "data-values", "empty-keys-and-shape", "sparse", "sparse-without-shape"],
)
def test_xgboost_reads_every_documented_json_shape(xgboost_url: str, document: dict) -> None:
    expected = post(xgboost_url, b"0.5,-1,2,0.25\n", "text/csv", "application/json")[2]
    status, _, body = post(xgboost_url, json.dumps(document).encode(), "application/json", "application/json")
    assert status == 200, body
    assert json.loads(body) == json.loads(expected)
    line = json.dumps(document["instances"][0]).encode() + b"\n"
    status, _, body = post(xgboost_url, line, "application/jsonlines", "application/json")
    assert status == 200 and json.loads(body) == json.loads(expected), body


def test_xgboost_refuses_a_key_beyond_its_features_naming_the_instance(xgboost_url: str) -> None:
    document = {"instances": [{"features": ROW}, {"data": {"features": {"keys": [7], "values": [1.0]}}}]}
    status, _, body = post(xgboost_url, json.dumps(document).encode(), "application/json")
    assert status == 400
    assert body.decode() == 'instance 2: "data.features": key 7 is out of range for 4 features (keys count from 0)'


def test_byoc_refuses_an_undeclared_accept_type_naming_the_supported_ones(byoc_url: str) -> None:
    status, _, body = post(byoc_url, b"0.5,-1,2,0.25\n", "text/csv", "application/x-recordio-protobuf")
    assert status == 415
    assert body.decode().endswith("is not supported; use one of application/json, text/csv")
    assert post(byoc_url, b"0.5,-1,2,0.25\n", "text/csv", "image/png")[0] == 415


def test_byoc_refuses_an_undeclared_content_type_and_answers_its_declared_ones(byoc_url: str) -> None:
    status, _, body = post(byoc_url, b'{"instances": [[0.5, -1, 2, 0.25]]}', "application/json")
    assert status == 415 and body.decode().endswith("use one of text/csv"), body
    status, kind, body = post(byoc_url, b"0.5,-1,2,0.25\n", "text/csv")
    assert (status, kind) == (200, "text/csv")  # no DefaultResponseMIMEType: the request's own type
    status, kind, answer = post(byoc_url, b"0.5,-1,2,0.25\n", "text/csv", "application/json")
    assert (status, kind) == (200, "application/json")
    assert json.loads(answer)["predictions"][0]["score"] == pytest.approx(float(body), rel=1e-6)


def test_byoc_answers_a_missing_feature_with_valid_json(byoc_url: str) -> None:
    """A NaN score is JSON's null, never the bare NaN that no JSON parser reads."""
    status, _, body = post(byoc_url, b"0.5,,2,0.25\n", "text/csv", "application/json")
    assert status == 200
    assert json.loads(body, parse_constant=lambda c: pytest.fail(f"bare {c} in {body!r}")) == {
        "predictions": [{"score": None}]
    }
