"""A Rollout runs a deployment plan against a blue/green target:

1. provision the new (green) fleet; it gets no traffic until every instance answers /ping;
2. for each traffic step: shift the step's share to the new fleet, then bake: watch the alarms (on the
   new fleet's production variants), the new fleet's instances (a crash or a hang is a fault) and
   MaximumExecutionTimeoutInSeconds; any of them rolls all traffic back to the old fleet;
3. all traffic on the new fleet: it becomes the endpoint's fleet (commit), the old fleet waits
   TerminationWaitInSeconds idle, then is torn down.

The target does the work (routing, processes, persistence); the Rollout only decides and records the
progress in a DeploymentSummary after each move, so a reader (or a restart) always sees where it is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from mlops.core.clock import utcnow
from mlops.core.hosting import DeploymentPhase, DeploymentStatus, DeploymentSummary, TrafficStep
from mlops.deploy.alarms import MetricWindow, first_breach


class BlueGreenTarget(Protocol):
    async def provision(self) -> None:
        """Start the new fleet; return when every instance is healthy, raise when one cannot start."""
        ...

    async def shift(self, new_fleet_percent: float) -> None: ...

    def windows(self, seconds: float) -> Mapping[str, MetricWindow]:
        """Each production variant of the new fleet → its metrics over the last ``seconds``."""
        ...

    def fault(self) -> str | None:
        """Why the new fleet is unhealthy (an instance crashed or stopped answering), or None."""
        ...

    async def progress(self, deployment: DeploymentSummary) -> None:
        """Record the deployment's state (persist it, update the endpoint's status)."""
        ...

    async def commit(self) -> None:
        """All traffic is on the new fleet: it becomes the endpoint's fleet."""
        ...

    async def retire_old(self) -> None: ...

    async def retire_new(self) -> None: ...


class Rollout:
    def __init__(
        self,
        deployment: DeploymentSummary,
        termination_wait_seconds: float = 0.0,
        max_execution_seconds: float | None = None,
        poll_seconds: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.deployment = deployment
        self.termination_wait_seconds = termination_wait_seconds
        self.max_execution_seconds = max_execution_seconds
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.sleep = sleep
        self._deadline: float | None = None

    async def _record(self, target: BlueGreenTarget, **changes: Any) -> DeploymentSummary:
        self.deployment = self.deployment.model_copy(update=changes)
        await target.progress(self.deployment)
        return self.deployment

    async def run(self, target: BlueGreenTarget) -> DeploymentSummary:
        if self.max_execution_seconds is not None:
            self._deadline = self.clock() + self.max_execution_seconds
        await self._record(target, Phase=DeploymentPhase.Provisioning, CurrentStepNumber=0, NewFleetTrafficPercent=0.0)
        try:
            await target.provision()
        except Exception as e:
            await target.retire_new()
            return await self._finish(target, DeploymentStatus.Failed, f"the new fleet did not start: {e}")
        if self._past_deadline():
            return await self._roll_back(target, self._deadline_reason())
        for step in self.deployment.Steps:
            await target.shift(step.NewFleetTrafficPercent)
            await self._record(
                target,
                Phase=DeploymentPhase.Baking,
                CurrentStepNumber=step.StepNumber,
                NewFleetTrafficPercent=step.NewFleetTrafficPercent,
            )
            reason = await self._bake(target, step)
            if reason is not None:
                return await self._roll_back(target, reason)
        await target.commit()
        await self._record(target, Phase=DeploymentPhase.TerminationWait)
        if self.termination_wait_seconds > 0:
            await self.sleep(self.termination_wait_seconds)
        await target.retire_old()
        return await self._finish(target, DeploymentStatus.Completed, None)

    def _past_deadline(self) -> bool:
        return self._deadline is not None and self.clock() >= self._deadline

    def _deadline_reason(self) -> str:
        return f"MaximumExecutionTimeoutInSeconds ({self.max_execution_seconds:g} s) exceeded"

    def check(self, target: BlueGreenTarget) -> str | None:
        """Why the deployment must roll back now, or None."""
        fault = target.fault()
        if fault is not None:
            return fault
        breach = first_breach(self.deployment.AlarmDefinitions, target.windows)
        if breach is not None:
            return breach.reason
        if self._past_deadline():
            return self._deadline_reason()
        return None

    async def _bake(self, target: BlueGreenTarget, step: TrafficStep) -> str | None:
        end = self.clock() + step.BakeSeconds
        while True:
            reason = self.check(target)
            if reason is not None:
                return f"step {step.StepNumber} ({step.Description}): {reason}"
            remaining = end - self.clock()
            if remaining <= 0:
                return None
            await self.sleep(min(self.poll_seconds, remaining))

    async def _roll_back(self, target: BlueGreenTarget, reason: str) -> DeploymentSummary:
        await self._record(target, Phase=DeploymentPhase.RollingBack, Reason=reason)
        await target.shift(0.0)
        await self._record(target, NewFleetTrafficPercent=0.0)
        await target.retire_new()
        return await self._finish(target, DeploymentStatus.RolledBack, reason)

    async def _finish(self, target: BlueGreenTarget, status: DeploymentStatus, reason: str | None) -> DeploymentSummary:
        return await self._record(target, Phase=DeploymentPhase.Done, Status=status, Reason=reason, EndTime=utcnow())
