"""Fleets and their model-server instances.

A ``Fleet`` is what one endpoint config serves for one endpoint: a pool of instances per production
variant (with weights), per shadow variant (with a sampling share) and the capture settings. The
``InstanceManager`` starts and stops instances through a ModelServerRuntime (blocking calls, run on a
thread pool), records every running instance for the orphan watchdog, and health-checks them: an
instance that refuses connections or misses ``failure_threshold`` pings in a row (each bounded by
``ping_timeout``) is taken out of rotation, killed and replaced, and its fleet notes a fault (which a
deployment in progress turns into a rollback).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mlops.core.errors import ValidationError
from mlops.core.hosting import EndpointConfig, Model
from mlops.hosting.reaper import TAG_ENV, process_start_time
from mlops.hosting.store import HostingStore, InstanceRecord
from mlops.runtime.interface import ModelServer, ModelServerRuntime
from mlops.serving.capture import CaptureSettings
from mlops.serving.router import FleetRoutes, Instance, VariantPool


def served_sha256(model: Model) -> str:
    """The sha256 a model's servers are started with. A model record without one (written by an older
    version) is refused, naming the model, rather than served unchecked."""
    if model.ModelDataSha256 is None:
        name = model.ModelName
        raise ValidationError(
            "ModelDataSha256",
            f"model {name} records no sha256 of its model data {model.PrimaryContainer.ModelDataUrl} (it was "
            f"created by an older version); it is not served unchecked. Create it again, under a new name or "
            f"after deleting it and the endpoint configs that name it, with `mlops models create {name} "
            f"--model-sha256 SHA256 --model-data …` (or --job JOB, or --model-package GROUP/VERSION)",
        )
    return model.ModelDataSha256


@dataclass
class VariantPlan:
    name: str
    model: Model
    count: int
    weight: float  # production: weight; shadow: sampling share 0..1
    role: str = "production"


@dataclass
class Fleet:
    endpoint: str
    config: EndpointConfig
    plans: list[VariantPlan]
    routes: FleetRoutes
    faults: list[str] = field(default_factory=list)
    retired: bool = False
    starting: set[asyncio.Future[None]] = field(default_factory=set)  # one per instance being started

    @classmethod
    def build(
        cls,
        endpoint: str,
        config: EndpointConfig,
        models: dict[str, Model],
        weights: dict[str, float] | None = None,
        counts: dict[str, int] | None = None,
    ) -> Fleet:
        """``weights``/``counts`` override the config's initial values per variant (a restart keeps what
        UpdateEndpointWeightsAndCapacities set). A model without a sha256 is refused here, before any
        instance starts."""
        weights, counts = weights or {}, counts or {}
        for model_name in config.model_names:
            served_sha256(models[model_name])
        plans = [
            VariantPlan(
                v.VariantName,
                models[v.ModelName],
                counts.get(v.VariantName, v.InitialInstanceCount),
                weights.get(v.VariantName, v.InitialVariantWeight),
            )
            for v in config.ProductionVariants
        ] + [
            VariantPlan(
                s.VariantName, models[s.ModelName], s.InitialInstanceCount, s.SamplingPercentage / 100.0, "shadow"
            )
            for s in config.ShadowProductionVariants
        ]
        name = config.EndpointConfigName
        pools = {p.name: VariantPool(endpoint, p.name, p.model.ModelName, name, p.role) for p in plans}
        routes = FleetRoutes(
            config_name=name,
            variants=[(pools[p.name], p.weight) for p in plans if p.role == "production"],
            shadows=[(pools[p.name], p.weight) for p in plans if p.role == "shadow"],
            capture=CaptureSettings.from_config(config.DataCaptureConfig),
        )
        return cls(endpoint, config, plans, routes)

    def pool(self, variant: str) -> VariantPool:
        return next(p for p in self.routes.pools() if p.name == variant)

    def plan(self, variant: str) -> VariantPlan:
        return next(p for p in self.plans if p.name == variant)

    @property
    def production_instances(self) -> int:
        return sum(p.count for p in self.plans if p.role == "production")


@dataclass
class _Running:
    record: InstanceRecord
    instance: Instance
    fleet: Fleet
    pool: VariantPool


class InstanceManager:
    def __init__(
        self,
        runtime: ModelServerRuntime,
        store: HostingStore,
        health_interval: float = 1.0,
        ping_timeout: float = 2.0,
        failure_threshold: int = 2,
        drain_timeout: float = 65.0,
        max_parallel_starts: int = 8,
        log: Callable[[str], None] = print,
        tag: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.health_interval = health_interval
        self.ping_timeout = ping_timeout
        self.failure_threshold = failure_threshold
        self.drain_timeout = drain_timeout
        self.log = log
        self.tag = tag or f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.executor = ThreadPoolExecutor(max_workers=max_parallel_starts, thread_name_prefix="model-server")
        self.running: dict[str, _Running] = {}
        self.restarts = 0
        self._replacing: set[str] = set()
        self._health_task: asyncio.Task[None] | None = None

    # --- bookkeeping -------------------------------------------------------------------------------

    def _persist(self) -> None:
        self.store.save_instances([r.record for r in self.running.values()], self.tag)

    async def _blocking(self, fn: Callable[..., object], *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # --- start / stop ------------------------------------------------------------------------------

    async def start_instance(self, fleet: Fleet, pool: VariantPool, model: Model) -> Instance:
        """Start one instance of ``fleet``. A fleet retired meanwhile gets no instance: one that comes up
        after ``retire`` is stopped here, and ``retire`` waits for that before it returns."""
        if fleet.retired:
            raise RuntimeError(f"fleet {fleet.config.EndpointConfigName} was retired")
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fleet.starting.add(settled)
        try:
            return await self._start_instance(fleet, pool, model)
        finally:
            fleet.starting.discard(settled)
            settled.set_result(None)

    async def _start_instance(self, fleet: Fleet, pool: VariantPool, model: Model) -> Instance:
        container = model.PrimaryContainer
        environment = {**container.Environment, TAG_ENV: self.tag}
        started = asyncio.get_running_loop().run_in_executor(
            self.executor,
            self.runtime.start_server,
            container.server_name,
            container.ModelDataUrl,
            served_sha256(model),
            environment,
        )
        try:
            server = await asyncio.shield(started)
        except asyncio.CancelledError:  # the thread goes on starting it: stop it once it is up
            started.add_done_callback(self._stop_late)
            raise
        instance = Instance(server.instance_id, server.url, server)
        record = InstanceRecord(
            InstanceId=server.instance_id,
            Url=server.url,
            Pid=server.pid,
            ProcessStartTime=process_start_time(server.pid) if server.pid else None,
            ContainerId=server.container_id,
            EndpointName=fleet.endpoint,
            EndpointConfigName=fleet.config.EndpointConfigName,
            VariantName=pool.name,
            Role=pool.role,
        )
        self.running[server.instance_id] = _Running(record, instance, fleet, pool)
        self._persist()
        if fleet.retired:  # the fleet was given up while this instance started
            await self.stop_instance(instance)
            raise RuntimeError(f"fleet {fleet.config.EndpointConfigName} was retired")
        return instance

    def _stop_late(self, started: asyncio.Future[ModelServer]) -> None:
        if started.cancelled() or started.exception() is not None:
            return
        with contextlib.suppress(RuntimeError):  # an executor already shut down: the exit sweep reaps it
            self.executor.submit(self.runtime.stop_server, started.result())

    async def stop_instance(self, instance: Instance, drain: bool = True, kill: bool = False) -> None:
        """Stop an instance that no routing table hands out any more, after its requests finish."""
        if drain:
            deadline = time.monotonic() + self.drain_timeout
            while instance.outstanding > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        running = self.running.get(instance.instance_id)
        server = instance.handle
        if kill and isinstance(server, ModelServer) and server.pid:
            _kill_group(server.pid)
        instance.pool.close()
        if isinstance(server, ModelServer):
            try:
                await self._blocking(self.runtime.stop_server, server)
            except Exception as e:  # the watchdog / next start reaps whatever is left
                self.log(f"could not stop instance {instance.instance_id}: {e}")
        if running is not None:
            self.running.pop(instance.instance_id, None)
            self._persist()

    async def provision(self, fleet: Fleet) -> None:
        """Start every instance of the fleet in parallel; all answer /ping before this returns. If one
        cannot start, the others are stopped and the error is raised."""
        jobs = [(pool, plan) for plan in fleet.plans for pool in [fleet.pool(plan.name)] for _ in range(plan.count)]
        results = await asyncio.gather(
            *(self.start_instance(fleet, pool, plan.model) for pool, plan in jobs), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        started = [r for r in results if isinstance(r, Instance)]
        if failures:
            await asyncio.gather(*(self.stop_instance(i, drain=False) for i in started))
            raise failures[0]
        for (pool, _), instance in zip(jobs, results, strict=True):
            assert isinstance(instance, Instance)
            pool.instances = [*pool.instances, instance]

    async def retire(self, fleet: Fleet) -> None:
        """Stop every instance of a fleet no routing table points at any more (after draining). Instances
        still starting (a replacement for a crashed one, say) are waited for: each stops itself once up, so
        when this returns no process of the fleet runs."""
        fleet.retired = True
        instances = [i for pool in fleet.routes.pools() for i in pool.instances]
        for pool in fleet.routes.pools():
            pool.instances = []
        await asyncio.gather(*(self.stop_instance(i) for i in instances))
        if fleet.starting:
            await asyncio.gather(*list(fleet.starting))

    async def resize(self, fleet: Fleet, variant: str, count: int) -> None:
        pool, plan = fleet.pool(variant), fleet.plan(variant)
        current = len(pool.instances)
        if count > current:
            new = await asyncio.gather(*(self.start_instance(fleet, pool, plan.model) for _ in range(count - current)))
            pool.instances = [*pool.instances, *new]
        elif count < current:
            ranked = sorted(pool.instances, key=lambda i: (i.healthy, i.outstanding))  # idle ones drain first
            leaving = ranked[: current - count]
            pool.instances = [i for i in pool.instances if i not in leaving]
            await asyncio.gather(*(self.stop_instance(i) for i in leaving))
        plan.count = count

    async def stop_all(self) -> None:
        instances = [r.instance for r in self.running.values()]
        await asyncio.gather(*(self.stop_instance(i, drain=False) for i in instances), return_exceptions=True)
        self.running.clear()
        self._persist()

    # --- health --------------------------------------------------------------------------------------

    def start_health_checks(self) -> None:
        if self._health_task is None:
            self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def stop_health_checks(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._health_task
            self._health_task = None

    def on_request_failure(self, instance: Instance) -> None:
        """The router saw a failed request: check at once if the instance is gone."""
        if not instance.healthy and instance.instance_id in self.running:
            self._schedule_replace(instance.instance_id, instance.last_error or "connection refused")

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval)
            try:
                await self._check_all()
            except Exception as e:  # a bug here must not end health checking
                self.log(f"health check failed: {type(e).__name__}: {e}")

    async def _check_all(self) -> None:
        running = list(self.running.items())
        if not running:
            return
        results = await asyncio.gather(*(r.instance.ping(self.ping_timeout) for _, r in running))
        for (instance_id, r), ok in zip(running, results, strict=True):
            instance = r.instance
            if ok:
                instance.failures = 0
                instance.healthy = True
                continue
            instance.failures += 1
            if instance.failures >= self.failure_threshold or "could not connect" in (instance.last_error or ""):
                self._schedule_replace(instance_id, instance.last_error or "GET /ping failed")

    def _schedule_replace(self, instance_id: str, reason: str) -> None:
        if instance_id in self._replacing:
            return
        self._replacing.add(instance_id)
        task = asyncio.get_running_loop().create_task(self._replace(instance_id, reason))
        task.add_done_callback(lambda _: self._replacing.discard(instance_id))

    async def _replace(self, instance_id: str, reason: str) -> None:
        r = self.running.get(instance_id)
        if r is None or r.fleet.retired:
            return
        instance, pool, fleet = r.instance, r.pool, r.fleet
        instance.healthy = False
        message = f"instance {instance_id} of variant {pool.name} ({fleet.config.EndpointConfigName}) failed: {reason}"
        fleet.faults.append(message)
        self.log(f"{message}; restarting it")
        pool.instances = [i for i in pool.instances if i is not instance]
        await self.stop_instance(instance, drain=False, kill=True)
        if fleet.retired:
            return
        plan = fleet.plan(pool.name)
        for attempt in range(1, 6):
            if fleet.retired:  # given up while this waited to try again
                return
            try:
                replacement = await self.start_instance(fleet, pool, plan.model)
            except Exception as e:
                if fleet.retired:
                    return
                self.log(f"restarting an instance of variant {pool.name} failed (attempt {attempt}): {e}")
                await asyncio.sleep(min(30.0, 2.0 * attempt))
                continue
            pool.instances = [*pool.instances, replacement]
            self.restarts += 1
            self.log(f"variant {pool.name}: instance {replacement.instance_id} replaces {instance_id}")
            return

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _kill_group(pid: int) -> None:
    for sig in (signal.SIGKILL,):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
