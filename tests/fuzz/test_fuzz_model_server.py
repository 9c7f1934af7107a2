"""Fuzzing the contract's model server (serving.py) over raw sockets: every request gets an answer, a
2xx or 4xx (501/505 from the HTTP layer for methods and versions it does not speak), never a 500 from
the payload codecs, never silence or a hang; the server keeps serving.

The server runs as the algorithms run it (tests/fuzz/model_server.py): ``serve()`` in its own process,
with a handler built on the payload codecs. Seeds: tests/fuzz/seeds/http/ (raw requests).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlops.contract.payloads import RESPONSE_TYPES
from tests.fuzz.formats import finite32
from tests.fuzz.httpwire import Answer, exchange, request_bytes, requests
from tests.fuzz.model_server import MAX_BYTES as MODEL_SERVER_MAX_BYTES
from tests.fuzz.rules import counted, examples, seed_files

# 501: a method http.server has no handler for; 505: an HTTP version it does not speak
DOCUMENTED = {200, 400, 404, 405, 408, 411, 413, 414, 415, 431, 501, 505}


def alive(port: int) -> None:
    assert exchange(port, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n").status == 200, "the server stopped answering"


REQUESTS = requests(st.sampled_from(["/invocations", "/invocations", "/ping", "/execution-parameters"]))


def check(answer: Answer, request: bytes) -> None:
    if answer.status is None:
        raise AssertionError(f"the connection closed without an answer to {request[:300]!r}")
    assert answer.status in DOCUMENTED, (answer.status, answer.body[:300], request[:300])


@given(REQUESTS)
@example((b"POST /invocations HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: abc\r\n\r\n1,2", "POST"))
@example((b"POST /invocations HTTP/1.1\r\nContent-Type: text/csv\r\nContent-Length: -3\r\n\r\n1,2", "POST"))
@example((b"POST /invocations HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n1,2", "POST"))
@example((b"GET /invocations HTTP/2.0\r\nHost: x\r\n\r\n", "GET"))  # found: a 505 page without a status line
@settings(max_examples=examples(0.5))
@counted
def test_every_request_gets_a_documented_answer(model_server: int, request: tuple[bytes, str]) -> None:
    raw, method = request
    check(exchange(model_server, raw, head=method == "HEAD"), raw)
    alive(model_server)


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4), elements=finite32.filter(lambda v: abs(v) < 1e30)), st.sampled_from(RESPONSE_TYPES))
@settings(max_examples=examples(0.2))
@counted
def test_valid_requests_are_answered(model_server: int, rows: np.ndarray, accept: str) -> None:
    body = "\n".join(",".join(f"{v:.9g}" for v in row) for row in rows).encode()
    raw = request_bytes(
        "POST",
        "/invocations",
        "HTTP/1.1",
        [(b"Content-Type", b"text/csv"), (b"Accept", accept.encode()), (b"Content-Length", str(len(body)).encode())],
        body,
    )
    answer = exchange(model_server, raw)
    if len(body) > MODEL_SERVER_MAX_BYTES:
        assert answer.status == 413
        return
    assert answer.status == 200, (answer, raw)
    assert answer.headers["content-type"] == accept


@pytest.mark.parametrize("path", seed_files("http"), ids=lambda p: p.name)
def test_every_seed(model_server: int, path: Path) -> None:
    raw = path.read_bytes()
    check(exchange(model_server, raw, head=raw.startswith(b"HEAD ")), raw)
    alive(model_server)
