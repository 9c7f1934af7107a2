"""The control process's ASGI application: the router's routes (serving.api) plus the control API.

Control API: ``POST /_control/{Action}`` with a JSON body shaped after SageMaker's action of that name,
answering JSON (an Endpoint record, or a list of them):

- ``CreateEndpoint`` {EndpointName, EndpointConfigName}
- ``UpdateEndpoint`` {EndpointName, EndpointConfigName, DeploymentConfig, RetainAllVariantProperties,
  AlarmDefinitions}
- ``UpdateEndpointWeightsAndCapacities`` {EndpointName, DesiredWeightsAndCapacities}
- ``DeleteEndpoint`` / ``DescribeEndpoint`` {EndpointName}; ``ListEndpoints`` {}
- ``GET /_control/health``: the control process's pid and endpoint count.

Who may call it: loopback clients only, holding the home's credentials (``Authorization``, see
credentials.py; 401 without, 403 with the wrong ones), with a JSON body (``Content-Type``
``application/json`` or ``application/x-amz-json-1.1``, else 415). Before any route, every request
(control and router alike) passes the ``Host`` / ``Origin`` checks of guard.py (421 / 403).

SageMaker's own API: ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>`` goes to the
``sagemaker_api`` app the caller passes (mlops/api/, built by the CLI), after the Host / Origin checks.

Errors answer ``{"__type": "ValidationError" | "ResourceNotFound" | "ConflictError" | "AccessDenied" |
"UnsupportedMediaType", "message": …}`` with 400 / 404 / 409 / 401 or 403 / 415 (413 for a body over
1 MiB).
"""

from __future__ import annotations

import contextlib
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
from mlops.hosting.credentials import SCHEME, AuthCheck, ControlCredentials
from mlops.hosting.guard import HostGuard
from mlops.serving.api import Receive, RequestAborted, RouterHttp, Scope, Send, aws_error, read_body, respond

CONTROL_PREFIX = "/_control/"
INVOKE_PREFIX = "/endpoints/"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
JSON_TYPES = (b"application/json", b"application/x-amz-json-1.1")
MAX_CONTROL_BODY = 1024 * 1024
_JSON = [(b"content-type", b"application/json")]
SAGEMAKER_TARGET = b"SageMaker."
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _error(kind: str, message: str) -> bytes:
    return json.dumps({"__type": kind, "message": message}).encode()


def _sagemaker_target(scope: Scope) -> bool:
    """A call of SageMaker's own API (``X-Amz-Target: SageMaker.<Operation>``), for the SageMaker-API edge."""
    return any(k == b"x-amz-target" and v.startswith(SAGEMAKER_TARGET) for k, v in scope["headers"])


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
        credentials: ControlCredentials,
        guard: HostGuard,
        on_started: Callable[[], Awaitable[None]] | None = None,
        on_stopping: Callable[[], Awaitable[None]] | None = None,
        sagemaker_api: AsgiApp | None = None,
    ) -> None:
        self.controller = controller
        self.http = http
        self.credentials = credentials
        self.guard = guard
        self.on_started = on_started
        self.on_stopping = on_stopping
        self.sagemaker_api = sagemaker_api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            refusal = self.guard.refusal(scope["headers"])
            if refusal is not None:
                await self._refuse(send, path, *refusal)
                return
            if (
                self.sagemaker_api is not None
                and path == "/"
                and scope["method"] == "POST"
                and _sagemaker_target(scope)
            ):
                await self.sagemaker_api(scope, receive, send)
                return
            if await self.http.handle(scope, receive, send):
                return
            if path.startswith(CONTROL_PREFIX):
                client = (scope.get("client") or ("",))[0]
                if client not in LOOPBACK:
                    body = _error("AccessDenied", "the control API answers loopback clients only")
                    await respond(send, 403, body, _JSON)
                    return
                with contextlib.suppress(RequestAborted):  # the client left before its body arrived: nothing is done
                    await self._control(scope, receive, send, path[len(CONTROL_PREFIX) :])
                return
            await respond(send, 404, f"no route {scope['method']} {path}".encode(), [(b"content-type", b"text/plain")])
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _refuse(self, send: Send, path: str, status: int, message: str) -> None:
        """A request the guard refused, answered in its route's error shape."""
        if path.startswith(INVOKE_PREFIX):
            await respond(send, *aws_error("AccessDeniedException", status, message))
        elif path.startswith(CONTROL_PREFIX):
            await respond(send, status, _error("AccessDenied", message), _JSON)
        else:
            await respond(send, status, message.encode(), [(b"content-type", b"text/plain")])

    def _not_allowed(self, scope: Scope) -> tuple[int, bytes] | None:
        """Why a control call may not go on (status and error body), or None: the home's credentials
        first (nothing is said about the request to a caller without them), then a JSON content type."""
        authorization = content_type = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                authorization = value
            elif key == b"content-type":
                content_type = value
        where = self.credentials.path or "the home's credentials file"
        check = self.credentials.check(authorization)
        if check is AuthCheck.MISSING:
            return 401, _error(
                "AccessDenied",
                f"the control API needs this home's credentials: send 'Authorization: {SCHEME} "
                f"ACCESS_KEY_ID:SECRET_ACCESS_KEY' with the aws_access_key_id and aws_secret_access_key "
                f"of {where} (the mlops CLI does, with MLOPS_HOME set to the router's home)",
            )
        if check is AuthCheck.WRONG:
            return 403, _error(
                "AccessDenied",
                f"the Authorization header does not hold this control process's credentials ({where}); "
                "is the client using another MLOPS_HOME than the router?",
            )
        if scope["method"] == "POST" and (content_type or b"").split(b";")[0].strip().lower() not in JSON_TYPES:
            shown = content_type.decode("latin-1") if content_type else "none"
            return 415, _error(
                "UnsupportedMediaType",
                f"a control call's body is JSON: send Content-Type application/json or "
                f"application/x-amz-json-1.1 (got {shown})",
            )
        return None

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
        refused = self._not_allowed(scope)
        if refused is not None:
            await respond(send, refused[0], refused[1], _JSON)
            return
        if action == "health" and scope["method"] == "GET":
            body = json.dumps({"pid": os.getpid(), "endpoints": len(self.controller.endpoints)}).encode()
            await respond(send, 200, body, _JSON)
            return
        if scope["method"] != "POST":
            await respond(send, 405, _error("ValidationError", f"use POST /_control/{action}"), _JSON)
            return
        raw, size = await read_body(receive, MAX_CONTROL_BODY)
        if size > MAX_CONTROL_BODY:
            body = _error("ValidationError", f"the body of {size} bytes is over the {MAX_CONTROL_BODY}-byte limit")
            await respond(send, 413, body, [*_JSON, (b"connection", b"close")])
            return
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
