"""The Rollout's decisions, against a scripted blue/green target and a simulated clock."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from mlops.core.hosting import (
    AlarmDefinition,
    DeploymentConfig,
    DeploymentPhase,
    DeploymentStatus,
    DeploymentSummary,
    TrafficStep,
)
from mlops.deploy.alarms import MetricWindow
from mlops.deploy.rollout import Rollout
from mlops.serving.metrics import VariantMetrics


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class Target:
    """Records what the Rollout asks for; metrics and faults are scripted by time."""

    def __init__(self, clock: Clock, slow_after: float | None = None, fault_after: float | None = None,
                 provision_error: str | None = None) -> None:
        self.clock = clock
        self.calls: list[str] = []
        self.slow_after = slow_after
        self.fault_after = fault_after
        self.provision_error = provision_error
        self.records: list[DeploymentSummary] = []

    async def provision(self) -> None:
        self.calls.append("provision")
        if self.provision_error:
            raise RuntimeError(self.provision_error)

    async def shift(self, new_fleet_percent: float) -> None:
        self.calls.append(f"shift {new_fleet_percent:g}")

    def windows(self, seconds: float) -> Mapping[str, MetricWindow]:
        m = VariantMetrics("ep", "green", "cfg2", clock=self.clock)
        slow = self.slow_after is not None and self.clock.now >= self.slow_after
        for _ in range(30):
            m.record(200, 900_000.0 if slow else 2_000.0, 100.0)
        return {"green": m.window(seconds)}

    def fault(self) -> str | None:
        if self.fault_after is not None and self.clock.now >= self.fault_after:
            return "instance green-1 of variant green failed: could not connect"
        return None

    async def progress(self, deployment: DeploymentSummary) -> None:
        self.records.append(deployment)

    async def commit(self) -> None:
        self.calls.append("commit")

    async def retire_old(self) -> None:
        self.calls.append("retire old")

    async def retire_new(self) -> None:
        self.calls.append("retire new")


P99 = AlarmDefinition(AlarmName="p99-latency", MetricName="ModelLatency", Statistic="p99", Threshold=250_000,
                      EvaluationWindowSeconds=30, MinimumInvocations=20)


def deployment(steps: list[tuple[float, int]], alarms: tuple[AlarmDefinition, ...] = (P99,)) -> DeploymentSummary:
    return DeploymentSummary(
        SourceEndpointConfigName="cfg1",
        TargetEndpointConfigName="cfg2",
        DeploymentConfig=DeploymentConfig(),
        AlarmDefinitions=alarms,
        Steps=tuple(TrafficStep(StepNumber=i, NewFleetTrafficPercent=p, BakeSeconds=b, Description=f"step {i}")
                    for i, (p, b) in enumerate(steps, start=1)),
        StartTime=datetime(2026, 11, 22, tzinfo=UTC),
    )


def run(rollout: Rollout, target: Target) -> DeploymentSummary:
    return asyncio.run(rollout.run(target))


def test_a_clean_canary_shifts_bakes_commits_then_retires_the_old_fleet_after_the_termination_wait() -> None:
    clock = Clock()
    target = Target(clock)
    rollout = Rollout(deployment([(10, 60), (100, 60)]), termination_wait_seconds=120, clock=clock,
                      sleep=clock.sleep)
    result = run(rollout, target)
    assert result.Status is DeploymentStatus.Completed and result.Reason is None
    assert target.calls == ["provision", "shift 10", "shift 100", "commit", "retire old"]
    assert clock.now == pytest.approx(60 + 60 + 120)
    phases = [(r.Phase, r.CurrentStepNumber) for r in target.records]
    assert phases[0] == (DeploymentPhase.Provisioning, 0)
    assert (DeploymentPhase.Baking, 1) in phases and (DeploymentPhase.Baking, 2) in phases
    assert phases[-2][0] is DeploymentPhase.TerminationWait and phases[-1][0] is DeploymentPhase.Done
    assert result.EndTime is not None


def test_an_alarm_during_a_bake_rolls_all_traffic_back_and_never_commits() -> None:
    clock = Clock()
    target = Target(clock, slow_after=30)
    result = run(Rollout(deployment([(10, 60), (100, 60)]), clock=clock, sleep=clock.sleep), target)
    assert result.Status is DeploymentStatus.RolledBack
    assert target.calls == ["provision", "shift 10", "shift 0", "retire new"]
    assert result.Reason is not None and "step 1 (step 1): alarm p99-latency" in result.Reason
    assert 30 <= clock.now < 31  # caught at the next poll, not at the end of the bake
    assert DeploymentPhase.RollingBack in [r.Phase for r in target.records]
    assert result.NewFleetTrafficPercent == 0


def test_a_crashed_instance_of_the_new_fleet_rolls_back() -> None:
    clock = Clock()
    target = Target(clock, fault_after=70)
    result = run(Rollout(deployment([(10, 60), (100, 60)], alarms=()), clock=clock, sleep=clock.sleep), target)
    assert result.Status is DeploymentStatus.RolledBack
    assert target.calls == ["provision", "shift 10", "shift 100", "shift 0", "retire new"]
    assert result.Reason is not None and "step 2" in result.Reason and "could not connect" in result.Reason


def test_a_new_fleet_that_cannot_start_fails_the_update_without_touching_traffic() -> None:
    clock = Clock()
    target = Target(clock, provision_error="model server exited before answering GET /ping")
    result = run(Rollout(deployment([(100, 10)]), clock=clock, sleep=clock.sleep), target)
    assert result.Status is DeploymentStatus.Failed
    assert target.calls == ["provision", "retire new"]
    assert result.Reason == "the new fleet did not start: model server exited before answering GET /ping"


def test_the_maximum_execution_timeout_rolls_back() -> None:
    clock = Clock()
    target = Target(clock)
    rollout = Rollout(deployment([(50, 40), (100, 40)], alarms=()), max_execution_seconds=60, clock=clock,
                      sleep=clock.sleep)
    result = run(rollout, target)
    assert result.Status is DeploymentStatus.RolledBack
    assert result.Reason is not None and "MaximumExecutionTimeoutInSeconds (60 s) exceeded" in result.Reason
    assert "commit" not in target.calls


def test_linear_walks_every_step() -> None:
    clock = Clock()
    target = Target(clock)
    steps = [(20, 1), (40, 1), (60, 1), (80, 1), (100, 1)]
    result = run(Rollout(deployment(steps), clock=clock, sleep=clock.sleep), target)
    assert result.Status is DeploymentStatus.Completed
    assert [c for c in target.calls if c.startswith("shift")] == [f"shift {p}" for p, _ in steps]
