"""Deployment strategies are pure: a DeploymentConfig and the new fleet's size give the traffic steps."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticValidationError

from mlops.core.errors import ValidationError
from mlops.core.hosting import (
    BlueGreenUpdatePolicy,
    CapacitySize,
    CapacitySizeType,
    DeploymentConfig,
    TrafficRoutingConfig,
    TrafficRoutingConfigType,
)
from mlops.deploy.strategies import plan_steps

PCT, COUNT = CapacitySizeType.CAPACITY_PERCENT, CapacitySizeType.INSTANCE_COUNT


def config(kind: str, size: tuple[CapacitySizeType, int] | None = None, wait: int = 60, termination: int = 0,
           max_timeout: int | None = None) -> DeploymentConfig:
    capacity = CapacitySize(Type=size[0], Value=size[1]) if size else None
    routing = TrafficRoutingConfig(
        Type=TrafficRoutingConfigType(kind),
        WaitIntervalInSeconds=wait,
        CanarySize=capacity if kind == "CANARY" else None,
        LinearStepSize=capacity if kind == "LINEAR" else None,
    )
    return DeploymentConfig(BlueGreenUpdatePolicy=BlueGreenUpdatePolicy(
        TrafficRoutingConfiguration=routing, TerminationWaitInSeconds=termination,
        MaximumExecutionTimeoutInSeconds=max_timeout))


def percents(cfg: DeploymentConfig | None, instances: int = 4) -> list[float]:
    return [s.NewFleetTrafficPercent for s in plan_steps(cfg, instances)]


def test_all_at_once_is_one_baked_step() -> None:
    steps = plan_steps(config("ALL_AT_ONCE", wait=30), 2)
    assert [(s.StepNumber, s.NewFleetTrafficPercent, s.BakeSeconds) for s in steps] == [(1, 100.0, 30)]


def test_no_deployment_config_means_all_at_once_without_baking() -> None:
    steps = plan_steps(None, 3)
    assert [(s.NewFleetTrafficPercent, s.BakeSeconds) for s in steps] == [(100.0, 0)]


@pytest.mark.parametrize(
    ("size", "instances", "expected"),
    [((PCT, 10), 1, [10.0, 100.0]), ((PCT, 50), 2, [50.0, 100.0]), ((COUNT, 1), 4, [25.0, 100.0]),
     ((COUNT, 2), 4, [50.0, 100.0])],
)
def test_canary_then_the_rest(size: tuple[CapacitySizeType, int], instances: int, expected: list[float]) -> None:
    steps = plan_steps(config("CANARY", size, wait=5), instances)
    assert [s.NewFleetTrafficPercent for s in steps] == expected
    assert all(s.BakeSeconds == 5 for s in steps)
    assert steps[0].Description.startswith("canary")


@pytest.mark.parametrize(
    ("size", "instances", "needle"),
    [((PCT, 60), 4, "at most 50%"), ((COUNT, 1), 1, "at most 50%"), ((COUNT, 5), 4, "more than the new fleet's 4"),
     ((PCT, 101), 4, "over 100")],
)
def test_canary_size_limits(size: tuple[CapacitySizeType, int], instances: int, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        plan_steps(config("CANARY", size), instances)


@pytest.mark.parametrize(
    ("size", "instances", "expected"),
    [((PCT, 20), 1, [20.0, 40.0, 60.0, 80.0, 100.0]), ((PCT, 30), 1, [30.0, 60.0, 90.0, 100.0]),
     ((PCT, 50), 1, [50.0, 100.0]), ((COUNT, 1), 3, [33.3333, 66.6667, 100.0]), ((PCT, 10), 1, [*range(10, 101, 10)])],
)
def test_linear_steps(size: tuple[CapacitySizeType, int], instances: int, expected: list[float]) -> None:
    steps = plan_steps(config("LINEAR", size, wait=2), instances)
    assert [s.NewFleetTrafficPercent for s in steps] == pytest.approx(expected)
    assert [s.StepNumber for s in steps] == list(range(1, len(expected) + 1))
    assert steps[-1].NewFleetTrafficPercent == 100.0


@pytest.mark.parametrize("size", [(PCT, 5), (PCT, 60), (COUNT, 3)])
def test_linear_step_limits(size: tuple[CapacitySizeType, int]) -> None:
    with pytest.raises(ValidationError, match="10-50%"):
        plan_steps(config("LINEAR", size), 4)


def test_maximum_execution_timeout_must_exceed_the_planned_waits() -> None:
    with pytest.raises(ValidationError, match="larger than the planned waits"):
        plan_steps(config("CANARY", (PCT, 10), wait=60, termination=120, max_timeout=200), 2)
    assert len(plan_steps(config("CANARY", (PCT, 10), wait=60, termination=120, max_timeout=600), 2)) == 2


def test_sizes_are_required_by_their_type() -> None:
    with pytest.raises(PydanticValidationError, match="CANARY needs CanarySize"):
        TrafficRoutingConfig(Type=TrafficRoutingConfigType.CANARY)
    with pytest.raises(PydanticValidationError, match="LINEAR needs LinearStepSize"):
        TrafficRoutingConfig(Type=TrafficRoutingConfigType.LINEAR)


def test_records_read_sagemaker_json() -> None:
    document = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 600,
                                            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25}},
            "TerminationWaitInSeconds": 300, "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "p99-latency"}]},
    }
    cfg = DeploymentConfig.model_validate(document)
    assert cfg.alarm_names == ("p99-latency",)
    assert percents(cfg) == [25.0, 100.0]
    assert cfg.model_dump(mode="json", exclude_none=True)["BlueGreenUpdatePolicy"] == document["BlueGreenUpdatePolicy"]
