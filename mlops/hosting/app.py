"""The control process's ASGI application: the router's routes (serving.api) plus the control API.

Control API: ``POST /_control/{Action}`` with a JSON body shaped after SageMaker's action of that name,
answering JSON (an Endpoint record, or a list of them):

- ``CreateEndpoint`` {EndpointName, EndpointConfigName}
- ``UpdateEndpoint`` {EndpointName, EndpointConfigName, DeploymentConfig, RetainAllVariantProperties,
  AlarmDefinitions}
- ``UpdateEndpointWeightsAndCapacities`` {EndpointName, DesiredWeightsAndCapacities}
- ``DeleteEndpoint`` / ``DescribeEndpoint`` {EndpointName}; ``ListEndpoints`` {}
- ``GET /_control/health``: the control process's pid and endpoint count.

Errors answer ``{"__type": "ValidationError" | "ResourceNotFound" | "ConflictError", "message": …}``
with 400 / 404 / 409.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from mlops.core.errors import ConflictError, MlopsError, NotFoundError, ValidationError
from mlops.core.hosting import (
    CreateEndpointInput,
    Endpoint,
    UpdateEndpointInput,
    UpdateEndpointWeightsAndCapacitiesInput,
)
from mlops.hosting.controller import Controller
from mlops.serving.api import Receive, RouterHttp, Scope, Send, read_body, respond

CONTROL_PREFIX = "/_control/"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_JSON = [(b"content-type", b"application/json")]


def _error(kind: str, message: str) -> bytes:
    return json.dumps({"__type": kind, "message": message}).encode()


def pydantic_message(e: PydanticValidationError) -> str:
    parts = []
    for item in e.errors()[:3]:
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(parts)


class HostingApp:
    def __init__(
        self,
        controller: Controller,
        http: RouterHttp,
        on_started: Callable[[], Awaitable[None]] | None = None,
        on_stopping: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.controller = controller
        self.http = http
        self.on_started = on_started
        self.on_stopping = on_stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if await self.http.handle(scope, receive, send):
                return
            path: str = scope["path"]
            if path.startswith(CONTROL_PREFIX):
                client = (scope.get("client") or ("",))[0]
                if client not in LOOPBACK:
                    body = _error("AccessDenied", "the control API answers loopback clients only")
                    await respond(send, 403, body, _JSON)
                    return
                await self._control(scope, receive, send, path[len(CONTROL_PREFIX) :])
                return
            await respond(send, 404, f"no route {scope['method']} {path}".encode(), [(b"content-type", b"text/plain")])
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.controller.start()
                    if self.on_started is not None:
                        await self.on_started()
                except Exception as e:
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    if self.on_stopping is not None:
                        await self.on_stopping()
                    await self.controller.stop()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _control(self, scope: Scope, receive: Receive, send: Send, action: str) -> None:
        if action == "health" and scope["method"] == "GET":
            body = json.dumps({"pid": os.getpid(), "endpoints": len(self.controller.endpoints)}).encode()
            await respond(send, 200, body, _JSON)
            return
        if scope["method"] != "POST":
            await respond(send, 405, _error("ValidationError", f"use POST /_control/{action}"), _JSON)
            return
        raw, _ = await read_body(receive, 1024 * 1024)
        try:
            payload = json.loads(raw or b"{}")
            if not isinstance(payload, dict):
                raise ValidationError("body", "expected a JSON object")
            result = await self._dispatch(action, payload)
        except NotFoundError as e:
            await respond(send, 404, _error("ResourceNotFound", str(e)), _JSON)
            return
        except ConflictError as e:
            await respond(send, 409, _error("ConflictError", str(e)), _JSON)
            return
        except (MlopsError, ValueError) as e:
            message = pydantic_message(e) if isinstance(e, PydanticValidationError) else str(e)
            await respond(send, 400, _error("ValidationError", message), _JSON)
            return
        if isinstance(result, list):
            body = json.dumps([r.model_dump(mode="json") for r in result]).encode()
        elif isinstance(result, BaseModel):
            body = result.model_dump_json().encode()
        else:
            body = b"{}"
        await respond(send, 200, body, _JSON)

    async def _dispatch(self, action: str, payload: dict[str, Any]) -> Endpoint | list[Endpoint] | None:
        c = self.controller
        if action == "CreateEndpoint":
            return await c.create_endpoint(CreateEndpointInput.model_validate(payload))
        if action == "UpdateEndpoint":
            return await c.update_endpoint(UpdateEndpointInput.model_validate(payload))
        if action == "UpdateEndpointWeightsAndCapacities":
            return await c.update_weights(UpdateEndpointWeightsAndCapacitiesInput.model_validate(payload))
        if action == "DescribeEndpoint":
            return c.describe(str(payload.get("EndpointName", "")))
        if action == "ListEndpoints":
            return c.list()
        if action == "DeleteEndpoint":
            await c.delete_endpoint(str(payload.get("EndpointName", "")))
            return None
        raise NotFoundError(
            "control action",
            action,
            "Known: CreateEndpoint, UpdateEndpoint, "
            "UpdateEndpointWeightsAndCapacities, DescribeEndpoint, ListEndpoints, DeleteEndpoint",
        )
