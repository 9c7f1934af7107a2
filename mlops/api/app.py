"""The SageMaker API's ASGI app: AWS JSON 1.1 (``POST /``, ``X-Amz-Target: SageMaker.<Operation>``,
``Content-Type: application/x-amz-json-1.1``), every request SigV4-signed with the home's key pair
(sigv4.py), validated against botocore's model of the operation (service_model.py), then handed to the
operation's row of the table (operations.py), in a worker thread or, for an async row, in the event
loop; its answer is projected onto the
operation's output shape. Errors are SageMaker's ``{"__type", "message"}`` with 400, or 403 for
authentication; an operation SageMaker has but this table lacks is an ``UnknownOperationException``."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from typing import Any

from mlops.api.errors import CONTENT_TYPE, ApiError, validation
from mlops.api.operations import OperationTable
from mlops.api.service_model import answer, validate_input
from mlops.api.sigv4 import header_map, verify
from mlops.core.errors import ValidationError
from mlops.hosting.credentials import ControlCredentials
from mlops.serving.api import Receive, RequestAborted, Scope, Send, read_body, respond

TARGET_PREFIX = "SageMaker."  # hosting/app.py sends requests with this X-Amz-Target here
MAX_BODY = 1024 * 1024
_HEADERS = [(b"content-type", CONTENT_TYPE)]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON")


class SageMakerApi:
    def __init__(self, credentials: ControlCredentials, operations: OperationTable) -> None:
        self.credentials = credentials
        self.operations = operations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(RequestAborted):  # the client left before its body arrived: nothing is done
            raw, size = await read_body(receive, MAX_BODY)
            try:
                if size > MAX_BODY:
                    raise ApiError("SerializationException", f"the body of {size} bytes is over {MAX_BODY} bytes", 413)
                status, body = 200, await self._answer(scope, raw)
            except ApiError as e:
                status, body = e.status, e.body()
            except Exception as e:  # a bug of ours: still SageMaker's shape, so boto3 raises a ClientError
                status, body = 500, ApiError("InternalFailure", f"{type(e).__name__}: {e}", 500).body()
            await respond(send, status, body, _HEADERS)

    async def _answer(self, scope: Scope, raw: bytes) -> bytes:
        verify(self.credentials, scope["method"], scope["path"], scope.get("query_string", b""), scope["headers"], raw)
        headers = header_map(scope["headers"])  # the values as signed
        target = headers.get("x-amz-target", "")
        content_type = headers.get("content-type", "").split(";")[0].strip().lower().encode("latin-1")
        if content_type != CONTENT_TYPE:
            raise ApiError("UnsupportedMediaTypeException", f"send Content-Type {CONTENT_TYPE.decode()}", 415)
        name = target.removeprefix(TARGET_PREFIX)
        operation = self.operations.get(name)
        if operation is None:
            raise ApiError("UnknownOperationException", f"this SageMaker API does not serve {name!r}")
        try:
            params = json.loads(raw or b"{}")
        except ValueError as e:
            raise ApiError("SerializationException", f"the body is not JSON: {e}") from None
        validate_input(name, params)
        try:
            if operation.in_loop:
                result = await operation.handler(params)  # type: ignore[misc]
            else:
                result = await asyncio.to_thread(operation.handler, params)
        except (ValidationError, ValueError) as e:  # a record refused a value botocore's model lets through
            raise validation(str(e)) from None
        return json.dumps(answer(name, result), default=_json_default).encode()
