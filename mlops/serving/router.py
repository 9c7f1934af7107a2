"""The endpoint router: weighted routing over production variants, shadow copies, data capture and
metrics, answering InvokeEndpoint-compatible requests.

Routing state is a snapshot per endpoint (``EndpointRoutes``) built from fleets (one per endpoint
config; two during a blue/green deployment) and their traffic shares. Swapping a snapshot is one
assignment on the event loop, so a request sees either the old or the new table, never half of one;
requests in flight finish on the instance they started on (instances are drained before they stop).

Within a variant, the instance with the fewest requests outstanding gets the next one (ties go round
robin); an instance the health checks (or a refused connection) marked unhealthy gets none.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlops.serving.capture import CaptureEvent, CaptureSettings
from mlops.serving.capture_writer import CaptureWriter
from mlops.serving.metrics import PrometheusText, VariantMetrics, add_capture, add_variant, labels
from mlops.serving.upstream import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamResponseTooLarge,
    UpstreamTimeout,
)

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker's InvokeEndpoint limit, for requests and for answers
DEFAULT_MODEL_TIMEOUT = 60.0  # SageMaker: a container answers /invocations within 60 s
SHADOW_IN_FLIGHT_LIMIT = 64


class Instance:
    """One model-server instance of a variant (a process or a container)."""

    __slots__ = ("failures", "handle", "healthy", "instance_id", "last_error", "outstanding", "pool", "url")

    def __init__(self, instance_id: str, url: str, handle: Any = None) -> None:
        self.instance_id = instance_id
        self.url = url
        self.handle = handle  # whatever the owner needs to stop it (a ModelServer)
        self.pool = UpstreamPool.for_url(url)
        self.outstanding = 0
        self.healthy = True
        self.failures = 0  # consecutive failed requests or pings
        self.last_error: str | None = None

    async def ping(self, timeout: float) -> bool:
        try:
            response = await self.pool.request(b"GET", b"/ping", [], b"", timeout)
        except Exception as e:  # whatever went wrong, the instance did not answer
            self.last_error = f"GET /ping: {e}"
            return False
        if response.status != 200:
            self.last_error = f"GET /ping answered {response.status}"
        return response.status == 200


class VariantPool:
    """The instances of one variant of one fleet, and its metrics."""

    def __init__(self, endpoint: str, name: str, model_name: str, config: str, role: str = "production") -> None:
        self.endpoint = endpoint
        self.name = name
        self.model_name = model_name
        self.config = config
        self.role = role
        self.instances: list[Instance] = []
        self.metrics = VariantMetrics(endpoint, name, config, role)
        self._next = itertools.count()

    def pick(self) -> Instance | None:
        instances = self.instances
        n = len(instances)
        if n == 1:
            only = instances[0]
            return only if only.healthy else None
        start = next(self._next) % n if n else 0
        best: Instance | None = None
        for i in range(n):
            candidate = instances[(start + i) % n]
            if candidate.healthy and (best is None or candidate.outstanding < best.outstanding):
                best = candidate
        return best

    @property
    def outstanding(self) -> int:
        return sum(i.outstanding for i in self.instances)


@dataclass
class FleetRoutes:
    """What one endpoint config serves: production variants (with weights), shadows (with sampling
    fractions) and the capture settings."""

    config_name: str
    variants: list[tuple[VariantPool, float]]
    shadows: list[tuple[VariantPool, float]] = field(default_factory=list)
    capture: CaptureSettings | None = None

    def pools(self) -> list[VariantPool]:
        return [p for p, _ in self.variants] + [p for p, _ in self.shadows]

    def weight_of(self, variant: str) -> float:
        return next((w for p, w in self.variants if p.name == variant), 0.0)


class EndpointRoutes:
    """An immutable routing table: each production variant's probability of the next request."""

    def __init__(self, name: str, fleets: list[tuple[FleetRoutes, float]]) -> None:
        self.name = name
        self.fleets = [(f, s) for f, s in fleets if s > 0]
        entries: list[tuple[VariantPool, FleetRoutes, float]] = []
        self.by_variant: dict[str, list[tuple[VariantPool, FleetRoutes, float]]] = {}
        for fleet, share in self.fleets:
            total = sum(w for _, w in fleet.variants)
            for pool, weight in fleet.variants:
                probability = share * weight / total if total > 0 else 0.0
                self.by_variant.setdefault(pool.name, []).append((pool, fleet, max(probability, share * 1e-9)))
                if probability > 0:
                    entries.append((pool, fleet, probability))
        self._entries = entries
        self._cumulative = list(itertools.accumulate(p for _, _, p in entries))
        self.total = self._cumulative[-1] if self._cumulative else 0.0

    def choose(self, r: float) -> tuple[VariantPool, FleetRoutes] | None:
        if not self._entries:
            return None
        index = bisect_right(self._cumulative, r * self.total)
        pool, fleet, _ = self._entries[min(index, len(self._entries) - 1)]
        return pool, fleet

    def choose_variant(self, variant: str, r: float) -> tuple[VariantPool, FleetRoutes] | None:
        candidates = self.by_variant.get(variant)
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0][0], candidates[0][1]
        total = sum(p for _, _, p in candidates)
        point = r * total
        for pool, fleet, probability in candidates:
            point -= probability
            if point <= 0:
                return pool, fleet
        return candidates[-1][0], candidates[-1][1]

    def fallback(self, down: VariantPool, r: float) -> tuple[VariantPool, FleetRoutes] | None:
        """Another production variant (of any fleet) with a healthy instance, by weight."""
        candidates = [(p, f, w) for p, f, w in self._entries if p is not down and any(i.healthy for i in p.instances)]
        total = sum(w for _, _, w in candidates)
        point = r * total
        for pool, fleet, weight in candidates:
            point -= weight
            if point <= 0:
                return pool, fleet
        return (candidates[-1][0], candidates[-1][1]) if candidates else None

    def variant_names(self) -> list[str]:
        return list(self.by_variant)


@dataclass(slots=True)
class Invocation:
    """What the router did with a request; the HTTP layer renders it in its API's terms."""

    kind: str  # ok | model_error | timeout | unavailable | too_large | not_found | bad_variant | not_ready
    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    variant: str | None = None
    custom_attributes: bytes | None = None
    message: str = ""


@dataclass(slots=True)
class InvokeRequest:
    endpoint: str
    body: bytes
    content_type: str = "application/octet-stream"
    accept: str | None = None
    custom_attributes: str | None = None
    target_variant: str | None = None
    inference_id: str | None = None


class EndpointRouter:
    def __init__(
        self,
        capture: CaptureWriter | None = None,
        model_timeout: float = DEFAULT_MODEL_TIMEOUT,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        max_response_bytes: int = MAX_PAYLOAD_BYTES,
        shadow_limit: int = SHADOW_IN_FLIGHT_LIMIT,
        rand: Callable[[], float] = random.random,
        status_of: Callable[[str], str | None] = lambda name: None,
    ) -> None:
        self.capture = capture
        self.model_timeout = model_timeout
        self.max_payload_bytes = max_payload_bytes
        self.max_response_bytes = max_response_bytes  # a model's answer past this is refused, not relayed
        self.shadow_limit = shadow_limit
        self.rand = rand
        self.status_of = status_of  # why an endpoint without routes has none (Creating, Failed …)
        self.routes: dict[str, EndpointRoutes] = {}
        self.rejected: dict[tuple[str, str], int] = {}
        self.shadow_in_flight = 0
        self.shadow_dropped = 0
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        self.on_instance_failure: Callable[[Instance], None] = lambda instance: None

    # --- routing table ---------------------------------------------------------------------------

    def set_routes(self, endpoint: str, fleets: list[tuple[FleetRoutes, float]]) -> None:
        self.routes[endpoint] = EndpointRoutes(endpoint, fleets)

    def remove(self, endpoint: str) -> None:
        self.routes.pop(endpoint, None)

    def reject(self, endpoint: str, reason: str) -> None:
        key = (endpoint, reason)
        self.rejected[key] = self.rejected.get(key, 0) + 1

    # --- invocations -----------------------------------------------------------------------------

    async def invoke(self, request: InvokeRequest, started: float | None = None) -> Invocation:
        started = time.perf_counter() if started is None else started
        routes = self.routes.get(request.endpoint)
        if routes is None:
            status = self.status_of(request.endpoint)
            self.reject(request.endpoint, "not_found" if status is None else "not_ready")
            if status is None:
                return Invocation(
                    "not_found", 400, message=f"Endpoint {request.endpoint} of account 000000000000 not found."
                )
            return Invocation(
                "not_ready", 400, message=f"Endpoint {request.endpoint} is {status}; it serves requests once InService."
            )
        r = self.rand()
        if request.target_variant:
            chosen = routes.choose_variant(request.target_variant, r)
            if chosen is None:
                self.reject(request.endpoint, "bad_variant")
                known = ", ".join(routes.variant_names()) or "none"
                return Invocation(
                    "bad_variant",
                    400,
                    message=f"TargetVariant {request.target_variant} is not a "
                    f"production variant of endpoint {request.endpoint}; variants: {known}",
                )
        else:
            chosen = routes.choose(r)
            if chosen is None:
                self.reject(request.endpoint, "no_traffic")
                return Invocation(
                    "unavailable", 503, message=f"Endpoint {request.endpoint}: every production variant has weight 0"
                )
        pool, fleet = chosen
        if pool.pick() is None and not request.target_variant:  # down: let another variant or fleet answer
            pool, fleet = routes.fallback(pool, self.rand()) or (pool, fleet)
        capture = fleet.capture
        captured = (
            capture is not None
            and self.capture is not None
            and (capture.sampling >= 1.0 or self.rand() < capture.sampling)
        )
        event_id = uuid.uuid4().hex if captured or fleet.shadows else ""
        for shadow_pool, sampling in fleet.shadows:
            if sampling >= 1.0 or self.rand() < sampling:
                self._start_shadow(shadow_pool, fleet, request, event_id if captured else None)
        result, model_seconds = await self._call(pool, request)
        done = time.perf_counter()
        model_us = int(model_seconds * 1e6) if model_seconds is not None else -1
        overhead_us = max(0, int((done - started) * 1e6) - model_us) if model_seconds is not None else None
        pool.metrics.record(result.status if result.kind in ("ok", "model_error") else 500, model_us, overhead_us)
        if captured and capture is not None and self.capture is not None:
            self.capture.submit(_capture_event(capture, fleet, pool, request, result, event_id, model_us, overhead_us))
        return result

    def _headers(self, request: InvokeRequest) -> list[tuple[bytes, bytes]]:
        headers = [(b"Content-Type", request.content_type.encode("latin-1"))]
        if request.accept:
            headers.append((b"Accept", request.accept.encode("latin-1")))
        if request.custom_attributes:
            headers.append((b"X-Amzn-SageMaker-Custom-Attributes", request.custom_attributes.encode("latin-1")))
        return headers

    async def _call(self, pool: VariantPool, request: InvokeRequest) -> tuple[Invocation, float | None]:
        """One request to one instance of ``pool``; a refused connection (the request never reached a
        model) is tried once more on another healthy instance of the pool."""
        for attempt in (0, 1):
            instance = pool.pick()
            if instance is None:
                return Invocation(
                    "unavailable",
                    503,
                    variant=pool.name,
                    message=f"variant {pool.name} has no healthy instance right now (restarting)",
                ), None
            instance.outstanding += 1
            sent = time.perf_counter()
            try:
                response = await instance.pool.request(
                    b"POST",
                    b"/invocations",
                    self._headers(request),
                    request.body,
                    self.model_timeout,
                    self.max_response_bytes,
                )
            except UpstreamResponseTooLarge as e:  # the instance is healthy; its answer cannot be relayed
                return Invocation(
                    "too_large",
                    502,
                    variant=pool.name,
                    message=f"variant {pool.name} answered {e.status} with {e.size_text()}, over the "
                    f"{self.max_response_bytes}-byte limit of InvokeEndpoint's response",
                ), time.perf_counter() - sent
            except UpstreamTimeout as e:
                self._failed(instance, f"timeout: {e}")
                return Invocation(
                    "timeout",
                    504,
                    variant=pool.name,
                    message=f"Your invocation timed out while waiting for a response from variant {pool.name} ({e})",
                ), time.perf_counter() - sent
            except UpstreamConnectError as e:
                self._failed(instance, str(e))
                if attempt == 0:
                    continue
                return Invocation(
                    "unavailable", 502, variant=pool.name, message=f"variant {pool.name} cannot be reached: {e}"
                ), None
            except UpstreamError as e:
                self._failed(instance, str(e))
                return Invocation(
                    "unavailable",
                    502,
                    variant=pool.name,
                    message=f"variant {pool.name} instance {instance.instance_id} gave no answer: {e}",
                ), time.perf_counter() - sent
            finally:
                instance.outstanding -= 1
            elapsed = time.perf_counter() - sent
            instance.failures = 0
            return _as_invocation(response, pool.name), elapsed
        raise AssertionError("unreachable")  # pragma: no cover

    def _failed(self, instance: Instance, error: str) -> None:
        instance.failures += 1
        instance.last_error = error
        if error.startswith("could not connect"):
            instance.healthy = False  # refused: nothing listens there any more
        self.on_instance_failure(instance)

    # --- shadows -----------------------------------------------------------------------------------

    def _start_shadow(
        self, pool: VariantPool, fleet: FleetRoutes, request: InvokeRequest, production_event_id: str | None
    ) -> None:
        if self.shadow_in_flight >= self.shadow_limit:
            self.shadow_dropped += 1
            return
        self.shadow_in_flight += 1
        task = asyncio.get_running_loop().create_task(self._shadow(pool, fleet, request, production_event_id))
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    async def _shadow(
        self, pool: VariantPool, fleet: FleetRoutes, request: InvokeRequest, production_event_id: str | None
    ) -> None:
        try:
            started = time.perf_counter()
            result, model_seconds = await self._call(pool, request)
            model_us = int(model_seconds * 1e6) if model_seconds is not None else -1
            pool.metrics.record(
                result.status if result.kind not in ("timeout", "unavailable") else 500,
                model_us,
                max(0, int((time.perf_counter() - started) * 1e6) - model_us) if model_us >= 0 else None,
            )
            capture = fleet.capture
            if production_event_id is not None and capture is not None and self.capture is not None:
                self.capture.submit(
                    _capture_event(
                        capture,
                        fleet,
                        pool,
                        request,
                        result,
                        uuid.uuid4().hex,
                        model_us,
                        None,
                        shadow=True,
                        production_event_id=production_event_id,
                    )
                )
        except Exception:  # a shadow never affects anyone
            pass
        finally:
            self.shadow_in_flight -= 1

    async def drain_shadows(self, timeout: float = 5.0) -> None:
        if self._shadow_tasks:
            await asyncio.wait(list(self._shadow_tasks), timeout=timeout)

    # --- metrics ---------------------------------------------------------------------------------

    def prometheus(self, extra: Callable[[PrometheusText], None] | None = None) -> str:
        text = PrometheusText()
        for name, routes in sorted(self.routes.items()):
            for fleet, share in routes.fleets:
                text.add(
                    "mlops_fleet_traffic_share",
                    "gauge",
                    "share of the endpoint's traffic a fleet gets",
                    labels(endpoint=name, config=fleet.config_name),
                    share,
                )
                for pool, weight in fleet.variants:
                    add_variant(text, pool.metrics)
                    base = labels(endpoint=name, variant=pool.name, config=fleet.config_name, role=pool.role)
                    text.add("mlops_variant_weight", "gauge", "the variant's weight within its fleet", base, weight)
                    text.add(
                        "mlops_variant_healthy_instances",
                        "gauge",
                        "instances taking requests",
                        base,
                        sum(1 for i in pool.instances if i.healthy),
                    )
                for pool, sampling in fleet.shadows:
                    add_variant(text, pool.metrics)
                    base = labels(endpoint=name, variant=pool.name, config=fleet.config_name, role=pool.role)
                    text.add(
                        "mlops_shadow_sampling_ratio", "gauge", "share of requests copied to the shadow", base, sampling
                    )
        for (endpoint, reason), count in sorted(self.rejected.items()):
            text.add(
                "mlops_router_rejected_total",
                "counter",
                "requests refused before reaching a variant",
                labels(endpoint=endpoint, reason=reason),
                count,
            )
        text.add(
            "mlops_shadow_dropped_total",
            "counter",
            "shadow copies skipped: too many in flight",
            "",
            self.shadow_dropped,
        )
        if self.capture is not None:
            add_capture(text, self.capture.statistics())
        if extra is not None:
            extra(text)
        return text.render()


def _capture_event(
    capture: CaptureSettings,
    fleet: FleetRoutes,
    pool: VariantPool,
    request: InvokeRequest,
    result: Invocation,
    event_id: str,
    model_us: int,
    overhead_us: int | None,
    **shadow: Any,
) -> CaptureEvent:
    """The capture record of one answered request (``model_us`` < 0: no model time known)."""
    return CaptureEvent(
        capture,
        request.endpoint,
        pool.name,
        fleet.config_name,
        time.time(),
        event_id,
        request.body,
        request.content_type,
        result.body if result.kind in ("ok", "model_error") else None,
        result.content_type,
        result.status,
        model_us if model_us >= 0 else None,
        overhead_us,
        request.inference_id,
        request.custom_attributes,
        error=None if result.kind == "ok" else result.message,
        **shadow,
    )


def _as_invocation(response: UpstreamResponse, variant: str) -> Invocation:
    content_type = (response.header(b"content-type") or b"application/octet-stream").decode("latin-1")
    if 200 <= response.status < 300:
        return Invocation(
            "ok",
            response.status,
            response.body,
            content_type,
            variant,
            response.header(b"x-amzn-sagemaker-custom-attributes"),
        )
    message = response.body[:1024].decode("utf-8", errors="replace")
    return Invocation("model_error", response.status, response.body, content_type, variant, message=message)
