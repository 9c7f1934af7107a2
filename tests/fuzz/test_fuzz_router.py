"""Fuzzing the router's request parsing (serving/api.py): ASGI scopes and bodies driven straight into
``RouterHttp``, and a few raw requests to a real uvicorn serving it.

Every request is answered once, with a documented status: InvokeEndpoint's 200, ValidationError
400/405/413, ModelError 424 (the model's own answer, which for bad input is a 4xx, never a 500),
ServiceUnavailable 503; the contract route passes the model's status through, or 502/503/504 when no
model answered. Never an unhandled exception, never a hang. Behind the router: the contract model server
of tests/fuzz/model_server.py, and an endpoint whose only instance is down.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlops.runtime.health import free_port, ping
from mlops.serving.api import RouterHttp, respond
from mlops.serving.router import EndpointRouter, FleetRoutes, Instance, VariantPool
from tests.fuzz.httpwire import SAGEMAKER_HEADERS, accepts, bodies, content_lengths, content_types, exchange
from tests.fuzz.httpwire import header_values as wire_values
from tests.fuzz.httpwire import requests as raw_requests
from tests.fuzz.rules import counted, examples

MAX_BYTES = 2048  # the router's InvokeEndpoint limit here; the model server's is larger
MODEL_STATUSES = {200, 400, 404, 413, 415}  # what the contract model server answers /invocations with
SAGEMAKER_STATUSES = {200, 400, 405, 413, 424, 503}
PLAIN_STATUSES = MODEL_STATUSES | {400, 405, 413, 502, 503, 504}


def pool(endpoint: str, name: str, url: str) -> VariantPool:
    variant = VariantPool(endpoint, name, f"model-{name}", "config")
    variant.instances.append(Instance(f"{endpoint}-{name}-1", url))
    return variant


def make_router(model_url: str, with_down_endpoint: bool) -> RouterHttp:
    router = EndpointRouter(max_payload_bytes=MAX_BYTES, model_timeout=10)
    router.set_routes(
        "ep", [(FleetRoutes("config", [(pool("ep", "blue", model_url), 1.0), (pool("ep", "green", model_url), 0.0)]), 1.0)]
    )
    if with_down_endpoint:
        down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        router.set_routes("down", [(FleetRoutes("config", [(pool("down", "only", down), 1.0)]), 1.0)])
    return RouterHttp(router)


@dataclass
class Routers:
    loop: asyncio.AbstractEventLoop
    one: RouterHttp  # serves one endpoint: POST /invocations works
    two: RouterHttp  # serves two, one of them down


@pytest.fixture(scope="module")
def routers(model_server: int) -> Iterator[Routers]:
    url = f"http://127.0.0.1:{model_server}"
    loop = asyncio.new_event_loop()
    yield Routers(loop, make_router(url, False), make_router(url, True))
    loop.close()


async def app_call(http: RouterHttp, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What the hosting app does with a request: the router's routes, else 404."""
    if not await http.handle(scope, receive, send):
        await respond(send, 404, b"no route", [(b"content-type", b"text/plain")])


# ------------------------------------------------------------------------------------------ ASGI scopes

names = st.sampled_from(["ep", "down", "", "EP", "ep/x", "..", "ep%2F"]) | st.text(max_size=12)
paths = st.one_of(
    names.map(lambda n: f"/endpoints/{n}/invocations"),
    st.sampled_from(["/invocations", "/ping", "/metrics", "/endpoints/invocations", "/endpoints//invocations"]),
    st.text(max_size=24).map("/".__add__),
)
header_names = st.sampled_from(
    [b"content-type", b"accept", b"content-length", b"host", *(h.lower() for h in SAGEMAKER_HEADERS)]
) | st.binary(min_size=1, max_size=12).map(bytes.lower)
target_variants = st.sampled_from([b"blue", b"green", b"only", b"", b"BLUE", b"nope"]) | wire_values


@st.composite
def scopes(draw: st.DrawFn) -> tuple[dict[str, Any], list[bytes], bool]:
    """(scope, body chunks, whether the client disconnects before the last chunk)."""
    body = draw(bodies)
    headers: list[tuple[bytes, bytes]] = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(header_names)
        if name == b"content-type":
            value = draw(content_types).encode("latin-1")
        elif name == b"accept":
            value = draw(accepts).encode("latin-1")
        elif name == b"content-length":
            value = (draw(content_lengths(len(body))) or [b""])[0] if draw(st.booleans()) else str(len(body)).encode()
        elif name == b"x-amzn-sagemaker-target-variant":
            value = draw(target_variants)
        else:
            value = draw(wire_values)
        headers.append((name, value))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "HEAD", "DELETE"]) | st.text(max_size=8)),
        "scheme": "http",
        "path": draw(paths),
        "query_string": draw(st.binary(max_size=16)),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return scope, chunks, draw(st.integers(0, 15)) == 0


async def drive(http: RouterHttp, scope: dict[str, Any], chunks: list[bytes], disconnect: bool) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    if disconnect:
        messages[-1] = {"type": "http.disconnect"}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app_call(http, scope, receive, send), timeout=20)  # a hang fails, not blocks
    return sent


def check_answer(scope: dict[str, Any], sent: list[dict[str, Any]], disconnected: bool) -> None:
    if disconnected and not sent:
        return  # the client went away before its body arrived: nobody to answer
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"], sent
    start, body = sent[0], sent[1]["body"]
    status = start["status"]
    headers = dict(start["headers"])
    for name, value in start["headers"]:
        assert isinstance(name, bytes) and isinstance(value, bytes) and name == name.lower()
        assert b"\r" not in value and b"\n" not in value, (name, value)
    assert headers[b"content-length"] == str(len(body)).encode()
    path, method = scope["path"], scope["method"]
    if path.startswith("/endpoints/") and path.endswith("/invocations"):
        assert status in SAGEMAKER_STATUSES, (status, body[:300])
        if status != 200:
            error = json.loads(body)
            assert headers[b"x-amzn-errortype"] == error["ErrorCode"].encode()
            if status == 424:  # the model's answer to bad input is a 4xx; a 500 would be a codec crash
                assert error["OriginalStatusCode"] in MODEL_STATUSES - {200} or error["OriginalStatusCode"] == 0, error
    elif path == "/invocations":
        assert status in PLAIN_STATUSES, (status, body[:300])
    elif path in ("/ping", "/metrics") and method == "GET":
        assert status == 200
    else:
        assert status == 404, (status, body[:300])


@given(scopes(), st.booleans())
@example(
    ({"type": "http", "method": "POST", "path": "/endpoints/ep/invocations", "headers": [(b"content-length", b"9" * 5000)]}, [b"1,2"], False),
    True,
)  # found: int() of a 5000-digit Content-Length raised ValueError in the router
@settings(max_examples=examples(0.5))
@counted
def test_every_scope_gets_one_documented_answer(routers: Routers, request: tuple[dict[str, Any], list[bytes], bool], single: bool) -> None:
    scope, chunks, disconnect = request
    sent = routers.loop.run_until_complete(drive(routers.one if single else routers.two, scope, chunks, disconnect))
    check_answer(scope, sent, disconnect)


@given(st.binary(max_size=64), target_variants, wire_values, wire_values)
@settings(max_examples=examples(0.3))
@counted
def test_sagemaker_headers_never_break_an_invocation(routers: Routers, body: bytes, target: bytes, custom: bytes, inference_id: bytes) -> None:
    """A valid CSV request with any Target-Variant / Custom-Attributes / Inference-Id: 200 or a 400 that
    names the unknown variant."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/endpoints/ep/invocations",
        "headers": [
            (b"content-type", b"text/csv"),
            (b"x-amzn-sagemaker-target-variant", target),
            (b"x-amzn-sagemaker-custom-attributes", custom),
            (b"x-amzn-sagemaker-inference-id", inference_id),
        ],
    }
    sent = routers.loop.run_until_complete(drive(routers.one, scope, [b"1,2\n3,4\n"], False))
    check_answer(scope, sent, False)
    status = sent[0]["status"]
    if target in (b"", b"blue", b"green"):
        assert status == 200, sent
    else:
        assert status == 400 and b"TargetVariant" in sent[1]["body"], sent


# ------------------------------------------------------------------------------------ a real uvicorn


@pytest.fixture(scope="module")
def uvicorn_port(model_server: int) -> Iterator[int]:
    http = make_router(f"http://127.0.0.1:{model_server}", False)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await app_call(http, scope, receive, send)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools", lifespan="off", log_level="critical")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not ping(f"http://127.0.0.1:{port}") and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


@given(raw_requests(st.sampled_from(["/endpoints/ep/invocations", "/invocations", "/ping"])))
@settings(max_examples=examples(0.2))
@counted
def test_raw_requests_to_uvicorn(uvicorn_port: int, request: tuple[bytes, str]) -> None:
    raw, method = request
    answer = exchange(uvicorn_port, raw, head=method == "HEAD")
    if answer.status is not None:  # uvicorn may close a connection whose request it cannot parse
        assert answer.status < 500 or answer.status in (502, 503, 504), (answer, raw[:300])
    assert exchange(uvicorn_port, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n").status == 200
