"""The router's HTTP API as the CLI and Airflow call it: the control API of a running ``mlops router``
(``POST /_control/{Action}`` with the home's credentials, answers validated into hosting records) and
InvokeEndpoint on its data plane. Nothing here reads settings: the caller gives the address and
credentials (``services/hosting_wiring.py`` does, from settings)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.core.errors import ConflictError, MlopsError, ValidationError
from mlops.core.hosting import AlarmDefinition, DeploymentConfig, Endpoint, EndpointStatus
from mlops.deploy.alarms import load_alarms, resolve_alarms
from mlops.hosting.credentials import ControlCredentials
from mlops.services.hosting import default_alarms_file

TERMINAL = (EndpointStatus.InService, EndpointStatus.Failed)


class ControlProcessUnavailable(MlopsError):
    """No control process answers on the router's address."""


class ControlAccessDenied(MlopsError):
    """The control process refused the call: not this home's credentials, or a refused Host/Origin."""


@dataclass(frozen=True)
class ControlHealth:
    pid: int
    endpoints: int


class HostingClient:
    """The control API of a running ``mlops router``, called with its home's credentials."""

    def __init__(self, url: str, credentials: ControlCredentials, timeout: float = 150.0) -> None:
        # the default timeout is long: a delete drains the requests in flight
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout

    def call(self, action: str, payload: dict[str, Any] | None = None) -> Any:
        return self._send("POST", action, json.dumps(payload or {}).encode())

    def health(self) -> ControlHealth:
        """The control process's pid and endpoint count (``GET /_control/health``)."""
        answer = self._send("GET", "health", None)
        try:
            return ControlHealth(int(answer["pid"]), int(answer["endpoints"]))
        except (TypeError, KeyError, ValueError):
            raise ControlProcessUnavailable(f"{self.url} answered /_control/health with {answer!r}") from None

    def _send(self, method: str, action: str, data: bytes | None) -> Any:
        headers = {"Authorization": self.credentials.authorization()}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.url}/_control/{action}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            try:
                body = json.loads(e.read())
                kind, message = body.get("__type", ""), body.get("message", "")
            except ValueError:
                kind, message = "", f"HTTP {e.code}"
            if e.code == 404:
                raise MlopsError(message) from None
            if e.code == 409:
                raise ConflictError(message) from None
            if e.code in (401, 403, 421):
                raise ControlAccessDenied(
                    f"the control process on {self.url} refused the call (credentials {self.credentials.path}): "
                    f"{message or f'HTTP {e.code}'}"
                ) from None
            raise ValidationError(kind or "request", message) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as e:
            raise ControlProcessUnavailable(
                f"no control process answers on {self.url} ({getattr(e, 'reason', e)}); start it with `mlops router`"
            ) from None
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise ControlProcessUnavailable(f"{self.url} is not a control process (its answer is not JSON)") from None

    def create_endpoint(self, name: str, config: str) -> Endpoint:
        return Endpoint.model_validate(
            self.call("CreateEndpoint", {"EndpointName": name, "EndpointConfigName": config})
        )

    def update_endpoint(
        self,
        name: str,
        config: str,
        deployment: DeploymentConfig | None,
        alarms_file: Path | None = None,
        retain_variant_properties: bool = False,
    ) -> Endpoint:
        definitions: tuple[AlarmDefinition, ...] = ()
        if deployment is not None and deployment.alarm_names:
            path = alarms_file or default_alarms_file()
            definitions = resolve_alarms(deployment.alarm_names, load_alarms(path), str(path))
        payload = {
            "EndpointName": name,
            "EndpointConfigName": config,
            "DeploymentConfig": deployment.model_dump(mode="json") if deployment else None,
            "RetainAllVariantProperties": retain_variant_properties,
            "AlarmDefinitions": [a.model_dump(mode="json") for a in definitions],
        }
        return Endpoint.model_validate(self.call("UpdateEndpoint", payload))

    def update_weights(self, name: str, weights: dict[str, float], counts: dict[str, int]) -> Endpoint:
        items = [
            {"VariantName": v, "DesiredWeight": weights.get(v), "DesiredInstanceCount": counts.get(v)}
            for v in dict.fromkeys([*weights, *counts])
        ]
        return Endpoint.model_validate(
            self.call(
                "UpdateEndpointWeightsAndCapacities", {"EndpointName": name, "DesiredWeightsAndCapacities": items}
            )
        )

    def describe(self, name: str) -> Endpoint:
        return Endpoint.model_validate(self.call("DescribeEndpoint", {"EndpointName": name}))

    def list(self) -> list[Endpoint]:
        return [Endpoint.model_validate(e) for e in self.call("ListEndpoints")]

    def delete(self, name: str) -> None:
        self.call("DeleteEndpoint", {"EndpointName": name})

    def wait(
        self,
        name: str,
        until: Callable[[Endpoint], bool] = lambda e: e.EndpointStatus in TERMINAL,
        on_change: Callable[[Endpoint], None] | None = None,
        timeout: float = 3600.0,
        poll_seconds: float = 0.25,
    ) -> Endpoint:
        deadline = time.monotonic() + timeout
        last: tuple[object, ...] | None = None
        while True:
            endpoint = self.describe(name)
            seen = (endpoint.EndpointStatus, endpoint.CurrentDeploymentStep, endpoint.EndpointConfigName)
            if on_change is not None and seen != last:
                on_change(endpoint)
            last = seen
            if until(endpoint):
                return endpoint
            if time.monotonic() > deadline:
                raise MlopsError(f"endpoint {name} is still {endpoint.EndpointStatus.value} after {timeout:g}s")
            time.sleep(poll_seconds)


# --- invocations ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvokeResult:
    status: int
    body: bytes
    content_type: str
    variant: str | None
    error: str | None


def invoke_endpoint(
    router: str,
    endpoint: str,
    body: bytes,
    content_type: str = "text/csv",
    accept: str | None = None,
    target_variant: str | None = None,
    custom_attributes: str | None = None,
    inference_id: str | None = None,
    timeout: float = 70.0,
) -> InvokeResult:
    """InvokeEndpoint on the router listening on ``router`` (``HOST:PORT``): an error answer is a result
    (its status, body and message), no answer at all is ``ControlProcessUnavailable``."""
    headers = {"Content-Type": content_type}
    if accept:
        headers["Accept"] = accept
    if target_variant:
        headers["X-Amzn-SageMaker-Target-Variant"] = target_variant
    if custom_attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
    if inference_id:
        headers["X-Amzn-SageMaker-Inference-Id"] = inference_id
    url = f"http://{router}/endpoints/{endpoint}/invocations"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return InvokeResult(
                response.status,
                response.read(),
                response.headers.get("Content-Type", ""),
                response.headers.get("x-Amzn-Invoked-Production-Variant"),
                None,
            )
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            message = str(json.loads(raw).get("Message", raw.decode(errors="replace")))
        except ValueError:
            message = raw.decode(errors="replace")
        return InvokeResult(
            e.code,
            raw,
            e.headers.get("Content-Type", ""),
            e.headers.get("x-Amzn-Invoked-Production-Variant"),
            f"{e.headers.get('x-amzn-ErrorType', 'HTTP ' + str(e.code))}: {message}",
        )
    except (urllib.error.URLError, ConnectionError) as e:
        raise ControlProcessUnavailable(
            f"the router does not answer on {router} ({getattr(e, 'reason', e)}); start it with `mlops router`"
        ) from None
