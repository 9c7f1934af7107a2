"""Retiring a fleet while one of its instances is being replaced: when ``retire`` returns, nothing of the
fleet runs, the replacement that was still starting included (a rollback reported done must not leave a
new-fleet process behind)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from mlops.core.clock import utcnow
from mlops.core.hosting import ContainerDefinition, EndpointConfig, Model, ProductionVariant
from mlops.hosting.fleet import Fleet, InstanceManager
from mlops.hosting.store import HostingStore
from mlops.runtime.interface import ModelServer

SHA = "0" * 64


class SlowSecondStart:
    """The first start is immediate; later ones wait until the test lets them go."""

    def __init__(self) -> None:
        self.starts = 0
        self.release = threading.Event()
        self.waiting = threading.Event()
        self.alive: set[str] = set()

    def start_server(
        self, algorithm: str, model_data: str, model_sha256: str, environment: dict[str, str] | None = None
    ) -> ModelServer:
        self.starts += 1
        if self.starts > 1:
            self.waiting.set()
            assert self.release.wait(10)
        server = ModelServer(instance_id=f"i-{self.starts}", url="http://127.0.0.1:9")
        self.alive.add(server.instance_id)
        return server

    def stop_server(self, server: ModelServer) -> None:
        self.alive.discard(server.instance_id)


def _fleet() -> Fleet:
    container = ContainerDefinition(AlgorithmName="xgboost", ModelDataUrl="file:///nowhere/model.tar.gz")
    model = Model(ModelName="m", ModelArn="arn:m", PrimaryContainer=container, ModelDataSha256=SHA,
                  CreationTime=utcnow())
    config = EndpointConfig(
        EndpointConfigName="cfg-b",
        EndpointConfigArn="arn:cfg-b",
        ProductionVariants=(ProductionVariant(VariantName="b", ModelName="m"),),
        CreationTime=utcnow(),
    )
    return Fleet.build("deploy", config, {"m": model})


def test_retire_waits_for_a_replacement_still_starting_and_stops_it(tmp_path: Path) -> None:
    runtime = SlowSecondStart()
    manager = InstanceManager(runtime, HostingStore(tmp_path), log=lambda _: None)

    async def go() -> None:
        fleet = _fleet()
        await manager.provision(fleet)
        (first,) = fleet.pool("b").instances
        manager._schedule_replace(first.instance_id, "killed")  # as the health check does for a crashed one
        while not runtime.waiting.is_set():  # the replacement is starting
            await asyncio.sleep(0.01)
        retiring = asyncio.ensure_future(manager.retire(fleet))
        await asyncio.sleep(0.2)
        assert not retiring.done()  # it waits for the start in flight
        runtime.release.set()
        await asyncio.wait_for(retiring, 10)
        assert runtime.alive == set() and manager.running == {}
        assert fleet.pool("b").instances == []
        await asyncio.sleep(0.1)  # nothing starts afterwards either
        assert runtime.starts == 2 and runtime.alive == set()

    try:
        asyncio.run(go())
    finally:
        runtime.release.set()
        manager.close()
