"""The control process's brain: endpoints' lifecycle (create, blue/green update with guardrails,
weights and capacities, delete), persisted after every move, and recovery after a restart.

Recovery rule (documented in README.md): on start the controller first stops whatever model servers a
previous control process left running, then brings every endpoint back on its *current* endpoint
config (``EndpointConfigName``) with the weights and instance counts last recorded. A deployment that
was still shifting traffic when the control process died is marked RolledBack ("the control process
stopped during …"): its new fleet is not restarted. A deployment that had already moved all traffic
and was only waiting out TerminationWaitInSeconds is marked Completed (its config had become current).
An endpoint is never brought back half on one config and half on another.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from mlops.core.clock import utcnow
from mlops.core.encodings import first_difference
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.hosting import (
    CreateEndpointInput,
    DataCaptureConfigSummary,
    DeploymentConfig,
    DeploymentPhase,
    DeploymentStatus,
    DeploymentSummary,
    Endpoint,
    EndpointConfig,
    EndpointStatus,
    Model,
    ProductionVariantSummary,
    UpdateEndpointInput,
    UpdateEndpointWeightsAndCapacitiesInput,
    hosting_arn,
)
from mlops.core.ids import check_name
from mlops.deploy.alarms import MetricWindow
from mlops.deploy.rollout import Rollout
from mlops.deploy.strategies import plan_steps
from mlops.hosting.fleet import Fleet, InstanceManager
from mlops.hosting.reaper import reap, reap_tagged
from mlops.hosting.store import HostingStore, read_instances
from mlops.serving.router import EndpointRouter

BUSY = (EndpointStatus.Creating, EndpointStatus.Updating, EndpointStatus.RollingBack, EndpointStatus.Deleting)


class Controller:
    def __init__(
        self,
        store: HostingStore,
        router: EndpointRouter,
        instances: InstanceManager,
        poll_seconds: float = 0.2,
        log: Callable[[str], None] = print,
    ) -> None:
        self.store = store
        self.router = router
        self.instances = instances
        self.poll_seconds = poll_seconds
        self.log = log
        self.endpoints: dict[str, Endpoint] = {}
        self.fleets: dict[str, Fleet] = {}  # the fleet of each endpoint's current config
        self.new_fleets: dict[str, Fleet] = {}  # during a deployment
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.recovering: set[str] = set()
        router.status_of = self.status_of
        router.on_instance_failure = instances.on_request_failure

    # --- records -----------------------------------------------------------------------------------

    def _save(self, endpoint: Endpoint, **changes: Any) -> Endpoint:
        updated = endpoint.model_copy(update={**changes, "LastModifiedTime": utcnow()})
        self.endpoints[updated.EndpointName] = updated
        self.store.save_endpoint(updated)
        return updated

    def _summaries(self, name: str) -> dict[str, Any]:
        fleet = self.fleets.get(name)
        if fleet is None:
            return {}
        production, shadows = [], []
        for plan in fleet.plans:
            pool = fleet.pool(plan.name)
            healthy = sum(1 for i in pool.instances if i.healthy)
            if plan.role == "production":
                production.append(
                    ProductionVariantSummary(
                        VariantName=plan.name,
                        ModelName=plan.model.ModelName,
                        CurrentWeight=fleet.routes.weight_of(plan.name),
                        DesiredWeight=plan.weight,
                        CurrentInstanceCount=healthy,
                        DesiredInstanceCount=plan.count,
                    )
                )
            else:
                shadows.append(
                    ProductionVariantSummary(
                        VariantName=plan.name,
                        ModelName=plan.model.ModelName,
                        CurrentWeight=0.0,
                        DesiredWeight=0.0,
                        CurrentInstanceCount=healthy,
                        DesiredInstanceCount=plan.count,
                        SamplingPercentage=plan.weight * 100,
                    )
                )
        capture = fleet.config.DataCaptureConfig
        summary = None
        if capture is not None:
            summary = DataCaptureConfigSummary(
                EnableCapture=capture.EnableCapture,
                CaptureStatus="Started" if capture.EnableCapture else "Stopped",
                CurrentSamplingPercentage=capture.InitialSamplingPercentage,
                DestinationS3Uri=capture.DestinationS3Uri,
            )
        return {
            "ProductionVariants": tuple(production),
            "ShadowProductionVariants": tuple(shadows),
            "DataCaptureConfig": summary,
        }

    def _refresh(self, name: str, **changes: Any) -> Endpoint:
        return self._save(self.endpoints[name], **{**self._summaries(name), **changes})

    def status_of(self, name: str) -> str | None:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            return None
        if name in self.recovering:
            return "starting again after a restart of the control process"
        return endpoint.EndpointStatus.value

    def describe(self, name: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise NotFoundError("endpoint", name, "Create it with `mlops endpoints create`.")
        if name in self.fleets and endpoint.EndpointStatus not in BUSY:
            endpoint = endpoint.model_copy(update=self._summaries(name))  # live instance counts
        capture, writer = endpoint.DataCaptureConfig, self.router.capture
        if capture is not None and writer is not None:  # live, never stored: counts since this process started
            statistics = writer.statistics_of(name)
            endpoint = endpoint.model_copy(
                update={"DataCaptureConfig": capture.model_copy(update={"CaptureStatistics": statistics})}
            )
        return endpoint

    def list(self) -> list[Endpoint]:
        return [self.describe(n) for n in sorted(self.endpoints)]

    def _models(self, config: EndpointConfig) -> dict[str, Model]:
        models = {name: self.store.model(name) for name in config.model_names}
        return models

    def _spawn(self, name: str, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks[name] = task

        def done(t: asyncio.Task[None]) -> None:
            if self.tasks.get(name) is t:
                del self.tasks[name]
            if not t.cancelled() and t.exception() is not None:
                self.log(f"endpoint {name}: {t.exception()!r}")

        task.add_done_callback(done)

    # --- start and recovery ----------------------------------------------------------------------

    async def start(self) -> None:
        previous = read_instances(self.store.instances_path)

        def sweep() -> int:
            return reap(previous.Instances) + reap_tagged(previous.ControlTag)

        found = await asyncio.get_running_loop().run_in_executor(None, sweep)
        if found:
            self.log(f"stopped {found} model server process(es) a previous control process left running")
        self.store.save_instances([], self.instances.tag)
        self.instances.start_health_checks()
        for endpoint in self.store.endpoints():
            self.endpoints[endpoint.EndpointName] = endpoint
            if endpoint.EndpointStatus is EndpointStatus.Deleting:
                self.store.delete_endpoint(endpoint.EndpointName)
                del self.endpoints[endpoint.EndpointName]
                continue
            if endpoint.EndpointStatus is EndpointStatus.Failed and not endpoint.ProductionVariants:
                continue  # it never served: nothing to bring back
            self.recovering.add(endpoint.EndpointName)
            self._spawn(endpoint.EndpointName, self._recover(endpoint))

    async def _recover(self, endpoint: Endpoint) -> None:
        name = endpoint.EndpointName
        deployment = endpoint.Deployment
        changes: dict[str, Any] = {}
        if deployment is not None and deployment.Status is DeploymentStatus.InProgress:
            if deployment.Phase is DeploymentPhase.TerminationWait:  # all traffic had moved: it is done
                deployment = deployment.model_copy(
                    update={"Phase": DeploymentPhase.Done, "EndTime": utcnow(), "Status": DeploymentStatus.Completed}
                )
                changes = {
                    "Deployment": deployment,
                    "CurrentDeploymentStep": None,
                    "EndpointConfigName": deployment.TargetEndpointConfigName,
                }
            else:
                where = deployment.describe_step()
                source = deployment.SourceEndpointConfigName
                reason = (
                    f"the control process stopped during the deployment ({where}); rolled back to {source} on restart"
                )
                deployment = deployment.model_copy(
                    update={
                        "Phase": DeploymentPhase.Done,
                        "EndTime": utcnow(),
                        "Status": DeploymentStatus.RolledBack,
                        "Reason": reason,
                        "NewFleetTrafficPercent": 0.0,
                    }
                )
                changes = {
                    "Deployment": deployment,
                    "CurrentDeploymentStep": None,
                    "LastRollbackReason": reason,
                    "EndpointConfigName": source,
                }
            endpoint = self._save(endpoint, **changes)
        endpoint = self._save(
            endpoint,
            EndpointStatus=EndpointStatus.Updating,
            CurrentDeploymentStep="starting its model servers again after a restart of the control process",
        )
        try:
            config = self.store.endpoint_config(endpoint.EndpointConfigName)
            fleet = Fleet.build(
                name,
                config,
                self._models(config),
                weights={v.VariantName: v.DesiredWeight for v in endpoint.ProductionVariants},
                counts={v.VariantName: v.DesiredInstanceCount for v in endpoint.ProductionVariants},
            )
            await self.instances.provision(fleet)
        except Exception as e:
            self.recovering.discard(name)
            self._save(
                self.endpoints[name],
                EndpointStatus=EndpointStatus.Failed,
                FailureReason=f"could not bring the endpoint back after a restart: {e}",
            )
            return
        self.fleets[name] = fleet
        self.router.set_routes(name, [(fleet.routes, 1.0)])
        self.recovering.discard(name)
        self._refresh(name, EndpointStatus=EndpointStatus.InService, FailureReason=None, CurrentDeploymentStep=None)
        self.log(f"endpoint {name} is back in service on {endpoint.EndpointConfigName}")

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(BaseException):
                await task
        for step in (self.router.drain_shadows(timeout=2.0), self.instances.stop_health_checks()):
            try:
                await step
            except Exception as e:
                self.log(f"while stopping: {type(e).__name__}: {e}")
        await self.instances.stop_all()

    # --- CreateEndpoint ----------------------------------------------------------------------------

    async def create_endpoint(self, request: CreateEndpointInput) -> Endpoint:
        name = check_name("EndpointName", request.EndpointName)
        if name in self.endpoints:
            raise ConflictError(f"endpoint {name!r} already exists (status {self.endpoints[name].EndpointStatus})")
        config = self.store.endpoint_config(request.EndpointConfigName)
        fleet = Fleet.build(name, config, self._models(config))  # refuses what cannot be served: nothing saved
        now = utcnow()
        endpoint = self._save(
            Endpoint(
                EndpointName=name,
                EndpointArn=hosting_arn("endpoint", name),
                EndpointConfigName=config.EndpointConfigName,
                EndpointStatus=EndpointStatus.Creating,
                CreationTime=now,
                LastModifiedTime=now,
            )
        )
        self._spawn(name, self._create(fleet))
        return endpoint

    async def _create(self, fleet: Fleet) -> None:
        name = fleet.endpoint
        try:
            await self.instances.provision(fleet)
        except Exception as e:
            self._save(
                self.endpoints[name],
                EndpointStatus=EndpointStatus.Failed,
                FailureReason=f"the model servers did not start: {e}",
            )
            return
        self.fleets[name] = fleet
        self.router.set_routes(name, [(fleet.routes, 1.0)])
        self._refresh(name, EndpointStatus=EndpointStatus.InService, FailureReason=None)

    # --- UpdateEndpoint ----------------------------------------------------------------------------

    def _serving(self, name: str, action: str) -> Endpoint:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise NotFoundError("endpoint", name)
        if endpoint.EndpointStatus is not EndpointStatus.InService or name not in self.fleets:
            raise ConflictError(
                f"cannot {action} endpoint {name!r} while it is {endpoint.EndpointStatus.value}; "
                "wait until it is InService"
            )
        return endpoint

    async def update_endpoint(self, request: UpdateEndpointInput) -> Endpoint:
        name = request.EndpointName
        endpoint = self._serving(name, "update")
        config = self.store.endpoint_config(request.EndpointConfigName)
        models = self._models(config)
        _refuse_new_feature_columns(name, self._models(self.store.endpoint_config(endpoint.EndpointConfigName)), models)
        deployment_config = request.DeploymentConfig or DeploymentConfig()
        defined = {a.AlarmName for a in request.AlarmDefinitions}
        missing = [n for n in deployment_config.alarm_names if n not in defined]
        if missing:
            raise ValidationError("AutoRollbackConfiguration", f"no definition given for alarm(s) {missing}")
        old = self.fleets[name]
        weights: dict[str, float] = {}
        counts: dict[str, int] = {}
        if request.RetainAllVariantProperties:
            for plan in old.plans:
                if plan.role == "production":
                    weights[plan.name], counts[plan.name] = plan.weight, plan.count
        new = Fleet.build(name, config, models, weights, counts)
        steps = plan_steps(deployment_config, new.production_instances)
        policy = deployment_config.BlueGreenUpdatePolicy
        deployment = DeploymentSummary(
            SourceEndpointConfigName=endpoint.EndpointConfigName,
            TargetEndpointConfigName=config.EndpointConfigName,
            DeploymentConfig=deployment_config,
            AlarmDefinitions=tuple(a for a in request.AlarmDefinitions if a.AlarmName in deployment_config.alarm_names),
            Steps=steps,
            StartTime=utcnow(),
        )
        endpoint = self._save(
            endpoint,
            EndpointStatus=EndpointStatus.Updating,
            LastDeploymentConfig=deployment_config,
            Deployment=deployment,
            CurrentDeploymentStep=deployment.describe_step(),
            FailureReason=None,
        )
        rollout = Rollout(
            deployment,
            termination_wait_seconds=policy.TerminationWaitInSeconds,
            max_execution_seconds=policy.MaximumExecutionTimeoutInSeconds,
            poll_seconds=self.poll_seconds,
        )
        self.new_fleets[name] = new
        self._spawn(name, self._deploy(rollout, _BlueGreen(self, name, old, new)))
        return endpoint

    async def _deploy(self, rollout: Rollout, target: _BlueGreen) -> None:
        try:
            result = await rollout.run(target)
        finally:
            self.new_fleets.pop(target.name, None)
        self.log(
            f"endpoint {target.name}: deployment of {result.TargetEndpointConfigName} {result.Status.value}"
            + (f": {result.Reason}" if result.Reason else "")
        )

    # --- UpdateEndpointWeightsAndCapacities ----------------------------------------------------------

    async def update_weights(self, request: UpdateEndpointWeightsAndCapacitiesInput) -> Endpoint:
        name = request.EndpointName
        self._serving(name, "update the weights of")
        fleet = self.fleets[name]
        known = [p.name for p in fleet.plans if p.role == "production"]
        for item in request.DesiredWeightsAndCapacities:
            if item.VariantName not in known:
                raise ValidationError(
                    "VariantName",
                    f"{item.VariantName!r} is not a production variant of {name}; variants: {', '.join(known)}",
                )
        weights = {p.name: p.weight for p in fleet.plans if p.role == "production"}
        for item in request.DesiredWeightsAndCapacities:
            if item.DesiredWeight is not None:
                weights[item.VariantName] = item.DesiredWeight
        if sum(weights.values()) <= 0:
            raise ValidationError("DesiredWeight", "the weights would add up to 0: no variant would get traffic")
        resizes = {
            i.VariantName: i.DesiredInstanceCount
            for i in request.DesiredWeightsAndCapacities
            if i.DesiredInstanceCount is not None and i.DesiredInstanceCount != fleet.plan(i.VariantName).count
        }
        for plan in fleet.plans:
            if plan.name in weights:
                plan.weight = weights[plan.name]
        fleet.routes.variants = [(pool, weights[pool.name]) for pool, _ in fleet.routes.variants]
        self.router.set_routes(name, [(fleet.routes, 1.0)])
        if not resizes:
            return self._refresh(name)
        endpoint = self._refresh(
            name, EndpointStatus=EndpointStatus.Updating, CurrentDeploymentStep=f"changing instance counts: {resizes}"
        )
        self._spawn(name, self._resize(name, fleet, resizes))
        return endpoint

    async def _resize(self, name: str, fleet: Fleet, resizes: Mapping[str, int]) -> None:
        failure = None
        for variant, count in resizes.items():
            try:
                await self.instances.resize(fleet, variant, count)
            except Exception as e:
                failure = f"could not change variant {variant} to {count} instance(s): {e}"
        self._refresh(name, EndpointStatus=EndpointStatus.InService, CurrentDeploymentStep=None, FailureReason=failure)

    # --- DeleteEndpoint -----------------------------------------------------------------------------

    async def delete_endpoint(self, name: str) -> None:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise NotFoundError("endpoint", name)
        task = self.tasks.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        self._save(endpoint, EndpointStatus=EndpointStatus.Deleting)
        self.router.remove(name)
        fleets = [f for f in (self.fleets.pop(name, None), self.new_fleets.pop(name, None)) if f is not None]
        await asyncio.gather(*(self.instances.retire(f) for f in fleets))
        for running in list(self.instances.running.values()):  # instances a cancelled start left behind
            if running.record.EndpointName == name:
                await self.instances.stop_instance(running.instance, drain=False)
        self.store.delete_endpoint(name)
        self.endpoints.pop(name, None)


class _BlueGreen:
    """The controller as a Rollout's target for one endpoint's deployment."""

    def __init__(self, controller: Controller, name: str, old: Fleet, new: Fleet) -> None:
        self.c = controller
        self.name = name
        self.old = old
        self.new = new
        self.share = 0.0
        self.deployment: DeploymentSummary | None = None

    async def provision(self) -> None:
        await self.c.instances.provision(self.new)
        self.new.faults.clear()

    async def shift(self, new_fleet_percent: float) -> None:
        self.share = new_fleet_percent / 100.0
        self.c.router.set_routes(self.name, [(self.old.routes, 1.0 - self.share), (self.new.routes, self.share)])

    def windows(self, seconds: float) -> Mapping[str, MetricWindow]:
        return {pool.name: pool.metrics.window(seconds) for pool, _ in self.new.routes.variants}

    def fault(self) -> str | None:
        return self.new.faults[0] if self.new.faults else None

    async def progress(self, deployment: DeploymentSummary) -> None:
        self.deployment = deployment
        status = EndpointStatus.Updating
        step: str | None = deployment.describe_step()
        changes: dict[str, Any] = {}
        if deployment.Phase is DeploymentPhase.RollingBack:
            status = EndpointStatus.RollingBack
        elif deployment.Status is not DeploymentStatus.InProgress:
            status, step = EndpointStatus.InService, None
            if deployment.Status in (DeploymentStatus.RolledBack, DeploymentStatus.Failed):
                changes["LastRollbackReason"] = deployment.Reason
        self.c._refresh(self.name, EndpointStatus=status, CurrentDeploymentStep=step, Deployment=deployment, **changes)

    async def commit(self) -> None:
        self.c.router.set_routes(self.name, [(self.new.routes, 1.0)])
        self.c.fleets[self.name] = self.new
        changes: dict[str, Any] = {"EndpointConfigName": self.new.config.EndpointConfigName}
        if self.deployment is not None:  # one write: the new config and the phase that makes it final
            self.deployment = self.deployment.model_copy(update={"Phase": DeploymentPhase.TerminationWait})
            changes.update(Deployment=self.deployment, CurrentDeploymentStep=self.deployment.describe_step())
        self.c._refresh(self.name, **changes)

    async def retire_old(self) -> None:
        await self.c.instances.retire(self.old)

    async def retire_new(self) -> None:
        self.c.router.set_routes(self.name, [(self.old.routes, 1.0)])
        await self.c.instances.retire(self.new)


def _refuse_new_feature_columns(endpoint: str, serving: Mapping[str, Model], target: Mapping[str, Model]) -> None:
    """An update keeps the endpoint's request shape: its callers send the feature columns the serving
    models read, so a target model that reads other columns is refused before any traffic moves (models
    whose encoding is unknown are not compared)."""
    current = next(((n, m.FeatureEncoding) for n, m in sorted(serving.items()) if m.FeatureEncoding), None)
    if current is None:
        return
    for name, model in sorted(target.items()):
        if model.FeatureEncoding is None:
            continue
        difference = first_difference(
            model.FeatureEncoding, current[1], f"model {name}'s encoding", f"model {current[0]}'s encoding"
        )
        if difference is not None:
            raise ValidationError(
                "EndpointConfigName",
                f"{difference} (serving endpoint {endpoint} now); its callers send the current feature columns: "
                "deploy a model trained on data encoded the same way, or create a new endpoint for the new columns",
            )
