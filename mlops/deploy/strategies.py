"""Deployment strategies: a BlueGreenUpdatePolicy turned into a pure list of traffic steps.

Each step gives the new (green) fleet a share of the endpoint's traffic and then bakes for
WaitIntervalInSeconds while the alarms watch the new fleet (SageMaker's semantics):

- ALL_AT_ONCE: 100%, bake.
- CANARY: the canary's share (CanarySize, at most 50% of the new fleet's capacity), bake; then 100%, bake.
- LINEAR: LinearStepSize (10-50% of the capacity) more at each step until 100%, each step baked.

A size in INSTANCE_COUNT is a share of the new fleet's production instances (``Value / count``).
"""

from __future__ import annotations

import math
from typing import Protocol

from mlops.core.errors import ValidationError
from mlops.core.hosting import (
    BlueGreenUpdatePolicy,
    CapacitySize,
    CapacitySizeType,
    DeploymentConfig,
    TrafficRoutingConfigType,
    TrafficStep,
)


class DeploymentStrategy(Protocol):
    def steps(self, new_fleet_instances: int) -> tuple[TrafficStep, ...]:
        """The traffic steps for a new fleet of ``new_fleet_instances`` production instances."""
        ...


def _percent(value: float) -> float:
    return round(value, 4)


def _label(percent: float) -> str:
    return f"{percent:g}%"


def capacity_share(size: CapacitySize, new_fleet_instances: int) -> float:
    """The share (0..1] of the new fleet's capacity that ``size`` names."""
    if size.Type is CapacitySizeType.CAPACITY_PERCENT:
        if size.Value > 100:
            raise ValidationError("CapacitySize", f"CAPACITY_PERCENT {size.Value} is over 100")
        return size.Value / 100.0
    if new_fleet_instances < 1:
        raise ValidationError("CapacitySize", "the new fleet has no production instances")
    if size.Value > new_fleet_instances:
        raise ValidationError(
            "CapacitySize",
            f"INSTANCE_COUNT {size.Value} is more than the new fleet's {new_fleet_instances} instance(s)",
        )
    return size.Value / new_fleet_instances


class AllAtOnce:
    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = wait_seconds

    def steps(self, new_fleet_instances: int) -> tuple[TrafficStep, ...]:
        return (
            TrafficStep(
                StepNumber=1,
                NewFleetTrafficPercent=100.0,
                BakeSeconds=self.wait_seconds,
                Description="all traffic to the new fleet",
            ),
        )


class Canary:
    def __init__(self, size: CapacitySize, wait_seconds: int) -> None:
        self.size = size
        self.wait_seconds = wait_seconds

    def steps(self, new_fleet_instances: int) -> tuple[TrafficStep, ...]:
        share = capacity_share(self.size, new_fleet_instances)
        if share > 0.5:
            raise ValidationError(
                "CanarySize",
                f"the canary ({_label(share * 100)} of the new fleet's capacity) must be at most 50%; SageMaker's rule",
            )
        canary = _percent(share * 100)
        return (
            TrafficStep(
                StepNumber=1,
                NewFleetTrafficPercent=canary,
                BakeSeconds=self.wait_seconds,
                Description=f"canary {_label(canary)}",
            ),
            TrafficStep(
                StepNumber=2,
                NewFleetTrafficPercent=100.0,
                BakeSeconds=self.wait_seconds,
                Description="the rest of the traffic, 100%",
            ),
        )


class Linear:
    def __init__(self, size: CapacitySize, wait_seconds: int) -> None:
        self.size = size
        self.wait_seconds = wait_seconds

    def steps(self, new_fleet_instances: int) -> tuple[TrafficStep, ...]:
        share = capacity_share(self.size, new_fleet_instances)
        if not 0.1 <= share <= 0.5:
            raise ValidationError(
                "LinearStepSize",
                f"each linear step ({_label(share * 100)} of the new fleet's capacity) must be 10-50%; "
                "SageMaker's rule",
            )
        count = math.ceil(1.0 / share - 1e-9)
        out = []
        for number in range(1, count + 1):
            percent = 100.0 if number == count else _percent(min(1.0, number * share) * 100)
            out.append(
                TrafficStep(
                    StepNumber=number,
                    NewFleetTrafficPercent=percent,
                    BakeSeconds=self.wait_seconds,
                    Description=f"linear step {number}/{count}: {_label(percent)}",
                )
            )
        return tuple(out)


def strategy_for(policy: BlueGreenUpdatePolicy) -> DeploymentStrategy:
    routing = policy.TrafficRoutingConfiguration
    wait = routing.WaitIntervalInSeconds
    if routing.Type is TrafficRoutingConfigType.CANARY and routing.CanarySize is not None:
        return Canary(routing.CanarySize, wait)
    if routing.Type is TrafficRoutingConfigType.LINEAR and routing.LinearStepSize is not None:
        return Linear(routing.LinearStepSize, wait)
    return AllAtOnce(wait)


def plan_steps(config: DeploymentConfig | None, new_fleet_instances: int) -> tuple[TrafficStep, ...]:
    """The traffic steps of an UpdateEndpoint; no DeploymentConfig means all at once without baking,
    as SageMaker does."""
    policy = (config or DeploymentConfig()).BlueGreenUpdatePolicy
    steps = strategy_for(policy).steps(new_fleet_instances)
    limit = policy.MaximumExecutionTimeoutInSeconds
    if limit is not None:
        planned = sum(s.BakeSeconds for s in steps) + policy.TerminationWaitInSeconds
        if planned >= limit:
            raise ValidationError(
                "MaximumExecutionTimeoutInSeconds",
                f"{limit} s must be larger than the planned waits ({planned} s: every WaitIntervalInSeconds "
                "plus TerminationWaitInSeconds)",
            )
    return steps
