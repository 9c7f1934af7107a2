"""Fuzzing the contract's model server (serving.py) over raw sockets: every request gets an answer, a
2xx or 4xx (501/505 from the HTTP layer for methods and versions it does not speak), never a 500 from
the payload codecs, never silence or a hang; the server keeps serving.

The server runs as the algorithms run it: ``serve()`` in its own process, with a handler built on the
payload codecs (decode_features, encode_predictions). Seeds: tests/fuzz/seeds/http/ (raw requests).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlops.contract.payloads import REQUEST_TYPES, RESPONSE_TYPES
from mlops.runtime.health import free_port, ping
from tests.fuzz.formats import JSON_TOKENS, csv_files, finite32, json_documents, jsonlines_files, libsvm_files
from tests.fuzz.formats import recordio_files as recordio_bodies
from tests.fuzz.httpwire import (
    Answer,
    content_lengths,
    exchange,
    header_values,
    methods,
    request_bytes,
    tokens,
    versions,
)
from tests.fuzz.mutations import mutated
from tests.fuzz.rules import counted, examples, seed_files

MAX_BYTES = 4096
HANDLER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from mlops.contract.errors import AlgorithmError
    from mlops.contract.payloads import decode_features, encode_predictions
    from mlops.contract.serving import serve

    class RowSums:
        def model_fn(self, model_dir):
            return None
        def input_fn(self, body, content_type):
            return decode_features(body, content_type)
        def predict_fn(self, data, model):
            if data.shape[0] == 0:
                raise AlgorithmError("the request holds no rows")
            return [{"score": float(s)} for s in np.asarray(data.sum(axis=1)).ravel()]
        def output_fn(self, prediction, accept):
            return encode_predictions(prediction, accept)

    sys.exit(serve(RowSums()))
    """
)
# 501: a method http.server has no handler for; 505: an HTTP version it does not speak
DOCUMENTED = {200, 400, 404, 405, 408, 411, 413, 414, 415, 431, 501, 505}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    root = tmp_path_factory.mktemp("model-server")
    (root / "model").mkdir()
    script = root / "serve.py"
    script.write_text(HANDLER)
    port = free_port()
    env = {
        **os.environ,
        "MLOPS_CONTRACT_ROOT": str(root),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "MLOPS_MAX_PAYLOAD_BYTES": str(MAX_BYTES),
    }
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while not ping(f"http://127.0.0.1:{port}") and time.monotonic() < deadline:
        assert proc.poll() is None, (root / "server.log").read_text()
        time.sleep(0.1)
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    log.close()
    assert not unhandled(root / "server.log"), "the server logged an unhandled exception:\n" + "\n".join(
        unhandled(root / "server.log")
    )


HANGUPS = ("BrokenPipeError", "ConnectionResetError")  # answering a client that already left


def unhandled(log: Path) -> list[str]:
    """The tracebacks socketserver logged (one per failed request), but for clients that hung up."""
    blocks = log.read_text().split("-" * 40)
    return [b.strip()[-2000:] for b in blocks if "Traceback" in b and not b.strip().splitlines()[-1].startswith(HANGUPS)]


def alive(port: int) -> None:
    assert exchange(port, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n").status == 200, "the server stopped answering"


bodies = st.one_of(
    csv_files().map(lambda f: f[0]),
    libsvm_files().map(lambda f: f[0]),
    jsonlines_files(),
    json_documents(),
    recordio_bodies,
    mutated(json_documents(), JSON_TOKENS),
    st.binary(max_size=128),
)
content_types = st.sampled_from([*REQUEST_TYPES, "text/csv; charset=utf-8", "image/png", ""]) | header_values.map(
    lambda b: b.decode("latin-1")
)
accepts = st.sampled_from([*RESPONSE_TYPES, "*/*", "", "text/libsvm", "image/png"]) | header_values.map(
    lambda b: b.decode("latin-1")
)
extra_headers = st.lists(
    st.tuples(
        st.sampled_from([b"X-Amzn-SageMaker-Custom-Attributes", b"Connection", b"Expect", b"Host"])
        | tokens.map(str.encode),
        header_values,
    ),
    max_size=4,
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, str]:
    method = draw(methods)
    target = draw(st.sampled_from(["/invocations", "/invocations", "/ping", "/execution-parameters"]) | tokens.map("/".__add__))
    body = draw(bodies)
    headers = [(b"Host", b"127.0.0.1")]
    if draw(st.booleans()):
        headers.append((b"Content-Type", draw(content_types).encode("latin-1")))
    if draw(st.booleans()):
        headers.append((b"Accept", draw(accepts).encode("latin-1")))
    headers += [(b"Content-Length", v) for v in draw(content_lengths(len(body)))]
    headers += draw(extra_headers)
    if draw(st.integers(0, 20)) == 0:
        headers.append((b"Transfer-Encoding", b"chunked"))
    return request_bytes(method, target, draw(versions), draw(st.permutations(headers)), body), method


def check(answer: Answer, request: bytes) -> None:
    if answer.status is None:
        raise AssertionError(f"the connection closed without an answer to {request[:300]!r}")
    assert answer.status in DOCUMENTED, (answer.status, answer.body[:300], request[:300])


@given(requests())
@example((b"POST /invocations HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: abc\r\n\r\n1,2", "POST"))
@example((b"POST /invocations HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: -3\r\n\r\n1,2", "POST"))
@example((b"POST /invocations HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n1,2", "POST"))
@example((b"GET /invocations HTTP/2.0\r\nHost: x\r\n\r\n", "GET"))  # found: a 505 page without a status line
@settings(max_examples=examples(0.5))
@counted
def test_every_request_gets_a_documented_answer(server: int, request: tuple[bytes, str]) -> None:
    raw, method = request
    check(exchange(server, raw, head=method == "HEAD"), raw)
    alive(server)


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4), elements=finite32.filter(lambda v: abs(v) < 1e30)), st.sampled_from(RESPONSE_TYPES))
@settings(max_examples=examples(0.2))
@counted
def test_valid_requests_are_answered(server: int, rows: np.ndarray, accept: str) -> None:
    body = "\n".join(",".join(f"{v:.9g}" for v in row) for row in rows).encode()
    raw = request_bytes(
        "POST",
        "/invocations",
        "HTTP/1.1",
        [(b"Content-Type", b"text/csv"), (b"Accept", accept.encode()), (b"Content-Length", str(len(body)).encode())],
        body,
    )
    answer = exchange(server, raw)
    if len(body) > MAX_BYTES:
        assert answer.status == 413
        return
    assert answer.status == 200, (answer, raw)
    assert answer.headers["content-type"] == accept


@pytest.mark.parametrize("path", seed_files("http"), ids=lambda p: p.name)
def test_every_seed(server: int, path: Path) -> None:
    raw = path.read_bytes()
    check(exchange(server, raw, head=raw.startswith(b"HEAD ")), raw)
    alive(server)
