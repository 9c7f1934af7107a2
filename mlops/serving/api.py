"""The router's HTTP surface, a raw ASGI handler (no framework on the hot path):

- ``POST /endpoints/{EndpointName}/invocations``: SageMaker Runtime's InvokeEndpoint (botocore's REST
  path and headers: Content-Type, Accept, X-Amzn-SageMaker-Custom-Attributes,
  X-Amzn-SageMaker-Target-Variant, X-Amzn-SageMaker-Inference-Id; the answer names the variant in
  x-Amzn-Invoked-Production-Variant). Errors are SageMaker's: ValidationError (400), ModelError (424,
  with OriginalStatusCode and OriginalMessage, for anything the model answered with or failed to
  answer), ServiceUnavailable (503), as JSON with ``x-amzn-ErrorType``, so boto3 raises its usual
  exceptions.
- ``POST /invocations``: the container contract's route, for a router serving one endpoint; the
  model's status codes pass through (502/504 when the model gave no answer).
- ``GET /ping`` (the router is up) and ``GET /metrics`` (Prometheus text).

At most ``max_in_flight`` invocations are handled at once; past that a request gets 503
ServiceUnavailable at once (boto3 retries it), before its body is read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mlops.serving.router import EndpointRouter, Invocation, InvokeRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HARD_BODY_LIMIT = 64 * 1024 * 1024  # past this the connection is closed instead of read to the end
MAX_IN_FLIGHT = 128  # invocations handled at once
_PREFIX = "/endpoints/"
_SUFFIX = "/invocations"


class RequestAborted(Exception):
    """The client went away (or was cut off by a timeout) before its request body arrived."""


async def read_body(receive: Receive, limit: int) -> tuple[bytes, int]:
    """The request body, or b"" with its size when it is over ``limit`` (read and discarded). Raises
    ``RequestAborted`` when the client disconnects first: half a body is never taken for a whole one."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestAborted
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif chunks:
            chunks.clear()
        if size > HARD_BODY_LIMIT:
            break
        more = message.get("more_body", False)
    if size > limit:
        return b"", size
    return chunks[0] if len(chunks) == 1 else b"".join(chunks), size


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    except (RuntimeError, OSError):  # the caller hung up; nobody is left to answer
        pass


def aws_error(
    kind: str, status: int, message: str, extra: dict[str, Any] | None = None, close: bool = False
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps({"ErrorCode": kind, "Message": message, **(extra or {})}).encode()
    headers = [(b"content-type", b"application/json"), (b"x-amzn-errortype", kind.encode())]
    if close:
        headers.append((b"connection", b"close"))
    return status, body, headers


def sagemaker_answer(result: Invocation) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    if result.kind == "ok":
        headers = [
            (b"content-type", result.content_type.encode("latin-1")),
            (b"x-amzn-invoked-production-variant", (result.variant or "").encode("latin-1")),
        ]
        if result.custom_attributes:
            headers.append((b"x-amzn-sagemaker-custom-attributes", result.custom_attributes))
        return 200, result.body, headers
    if result.kind in ("model_error", "timeout", "unavailable", "too_large") and result.variant is not None:
        original = result.status if result.kind == "model_error" else 0
        side = "client" if 400 <= original < 500 else "server"
        status, body, headers = aws_error(
            "ModelError",
            424,
            f'Received {side} error ({original}) from variant {result.variant} with message "{result.message}".',
            {"OriginalStatusCode": original, "OriginalMessage": result.message, "LogStreamArn": ""},
        )
        headers.append((b"x-amzn-invoked-production-variant", result.variant.encode("latin-1")))
        return status, body, headers
    if result.kind == "unavailable":
        return aws_error("ServiceUnavailable", 503, result.message)
    return aws_error("ValidationError", 400, result.message)


def plain_answer(result: Invocation) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    headers = [
        (
            b"content-type",
            result.content_type.encode("latin-1") if result.kind in ("ok", "model_error") else b"text/plain",
        )
    ]
    if result.variant:
        headers.append((b"x-amzn-invoked-production-variant", result.variant.encode("latin-1")))
    if result.kind in ("ok", "model_error"):
        return result.status, result.body, headers
    return result.status, result.message.encode(), headers


class RouterHttp:
    def __init__(
        self,
        router: EndpointRouter,
        extra_metrics: Callable[[Any], None] | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.router = router
        self.extra_metrics = extra_metrics
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if it is one of the router's routes; False otherwise."""
        path: str = scope["path"]
        method: str = scope["method"]
        if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
            if method != "POST":
                await respond(send, *aws_error("ValidationError", 405, "use POST for InvokeEndpoint"))
                return True
            await self._admit(scope, receive, send, path[len(_PREFIX) : -len(_SUFFIX)], sagemaker=True)
            return True
        if path == "/invocations":
            if method != "POST":
                await respond(send, 405, b"use POST /invocations", [(b"content-type", b"text/plain")])
                return True
            names = list(self.router.routes)
            if len(names) != 1:
                message = (
                    f"this router serves {len(names)} endpoints ({', '.join(sorted(names)) or 'none'}); "
                    "POST /endpoints/NAME/invocations"
                )
                await respond(send, 400 if names else 503, message.encode(), [(b"content-type", b"text/plain")])
                return True
            await self._admit(scope, receive, send, names[0], sagemaker=False)
            return True
        if path == "/ping" and method == "GET":
            await respond(send, 200, b"", [(b"content-type", b"text/plain")])
            return True
        if path == "/metrics" and method == "GET":
            body = self.router.prometheus(self.extra_metrics).encode()
            await respond(send, 200, body, [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")])
            return True
        return False

    async def _admit(self, scope: Scope, receive: Receive, send: Send, endpoint: str, sagemaker: bool) -> None:
        """One invocation, unless ``max_in_flight`` are already under way (then 503 at once)."""
        if self.in_flight >= self.max_in_flight:
            self.router.reject(endpoint, "over_capacity")
            message = f"the router is handling {self.max_in_flight} invocations already; retry shortly"
            if sagemaker:
                await respond(send, *aws_error("ServiceUnavailable", 503, message))
            else:
                await respond(send, 503, message.encode(), [(b"content-type", b"text/plain")])
            return
        self.in_flight += 1
        try:
            await self._invoke(scope, receive, send, endpoint, sagemaker)
        except RequestAborted:
            return  # nobody is left to answer, and half a body is not sent to a model
        finally:
            self.in_flight -= 1

    async def _invoke(self, scope: Scope, receive: Receive, send: Send, endpoint: str, sagemaker: bool) -> None:
        started = time.perf_counter()
        content_type = "application/octet-stream"
        accept = custom = target = inference_id = None
        declared = 0
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"accept":
                accept = value.decode("latin-1")
            elif key == b"content-length":
                declared = (int(value) if len(value) < 19 else HARD_BODY_LIMIT + 1) if value.isdigit() else 0
            elif key.startswith(b"x-amzn-sagemaker-"):
                name = key[len(b"x-amzn-sagemaker-") :]
                if name == b"custom-attributes":
                    custom = value.decode("latin-1")
                elif name == b"target-variant":
                    target = value.decode("latin-1")
                elif name == b"inference-id":
                    inference_id = value.decode("latin-1")
        limit = self.router.max_payload_bytes
        if declared > HARD_BODY_LIMIT:
            self.router.reject(endpoint, "too_large")
            await self._error(
                send,
                sagemaker,
                413,
                f"the body of {declared} bytes is over the {limit}-byte limit of InvokeEndpoint",
                close=True,
            )
            return
        body, size = await read_body(receive, limit)
        if size > limit:
            self.router.reject(endpoint, "too_large")
            await self._error(
                send,
                sagemaker,
                413,
                f"the body of {size} bytes is over the {limit}-byte limit of InvokeEndpoint",
                close=size > HARD_BODY_LIMIT,
            )
            return
        result = await self.router.invoke(
            InvokeRequest(endpoint, body, content_type, accept, custom, target, inference_id), started
        )
        await respond(send, *(sagemaker_answer(result) if sagemaker else plain_answer(result)))

    async def _error(self, send: Send, sagemaker: bool, status: int, message: str, close: bool = False) -> None:
        if sagemaker:
            _, body, headers = aws_error("ValidationError", status, message, close=close)
            await respond(send, status, body, headers)
        else:
            headers = [(b"content-type", b"text/plain")] + ([(b"connection", b"close")] if close else [])
            await respond(send, status, message.encode(), headers)
