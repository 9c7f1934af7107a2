"""Schedule files, the window of a scheduled run, and the retraining decision with its cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlops.core.errors import ConflictError, ValidationError
from mlops.core.monitoring import (
    MonitoringExecutionStatus,
    MonitoringRun,
    MonitoringSchedule,
    MonitoringType,
    MonitorResult,
    ScheduleConfig,
    Violation,
    parse_monitors,
    rate_expression,
)
from mlops.monitoring.retrain import RetrainState, candidates, decide, decide_for_run
from mlops.monitoring.schedule import load_schedule, load_schedules, save_schedule, window_ending, window_for

REPO = Path(__file__).resolve().parents[3]
T = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def test_window_for_airflows_data_interval_is_pure_and_utc() -> None:
    window = window_for(T, T + timedelta(hours=1))
    assert (window.start, window.end) == (T, T + timedelta(hours=1))
    assert window.run_name("churn-endpoint") == "churn-endpoint-20261122T030000Z-20261122T040000Z"
    cet = timezone(timedelta(hours=1))
    assert window_for(datetime(2026, 11, 22, 4, tzinfo=cet), datetime(2026, 11, 22, 5, tzinfo=cet)) == window
    late = window_for(T, T + timedelta(hours=1), offset=timedelta(days=1))
    assert late.start == T - timedelta(days=1) and late.duration == timedelta(hours=1)
    with pytest.raises(ValidationError, match="no time zone"):
        window_for(datetime(2026, 11, 22), datetime(2026, 11, 23))
    with pytest.raises(ValidationError, match="at or before it starts"):
        window_for(T, T)
    assert window_ending(T, timedelta(minutes=30)).start == T - timedelta(minutes=30)


def test_schedule_expressions_and_monitor_names() -> None:
    assert rate_expression("1h") == "rate(1 hour)" and rate_expression("30m") == "rate(30 minutes)"
    assert ScheduleConfig(ScheduleExpression="rate(2 days)").interval == timedelta(days=2)
    with pytest.raises(ValidationError, match="30m, 1h or 1d"):
        rate_expression("hourly")
    assert parse_monitors("data-quality,bias") == (MonitoringType.DataQuality, MonitoringType.ModelBias)
    assert parse_monitors("all") == tuple(MonitoringType)
    with pytest.raises(ValidationError, match="unknown monitor 'drift'"):
        parse_monitors("drift")


def test_the_example_schedule_loads_and_round_trips(tmp_path: Path) -> None:
    example = load_schedule(REPO / "monitoring" / "example-schedule.yaml")
    assert example.MonitoringScheduleName == "churn-endpoint" and example.ScheduleConfig.interval == timedelta(hours=1)
    drift = example.monitor(MonitoringType.DataDrift)
    assert drift is not None and drift.Retrain and drift.DriftMethods == {"total_charges": "psi"}
    assert example.Bias is not None and example.Bias.FacetValues == ("female",)
    path = save_schedule(tmp_path, example)
    assert load_schedules(tmp_path) == [example] and path.name == "churn-endpoint.yaml"
    (tmp_path / "copy.yml").write_text(path.read_text())
    with pytest.raises(ConflictError, match="is defined in"):
        load_schedules(tmp_path)


def test_a_bad_schedule_file_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "MonitoringScheduleName: x\nEndpointName: e\nBaselineName: b\n"
        "ScheduleConfig: {ScheduleExpression: hourly}\nMonitors: [data-quality]\n"
    )
    with pytest.raises(ValidationError, match=r"bad.yaml: ScheduleConfig: .*rate\(N minutes"):
        load_schedule(path)
    path.write_text(
        "MonitoringScheduleName: x\nEndpointName: e\nBaselineName: b\n"
        "ScheduleConfig: {ScheduleExpression: rate(1 hour)}\nMonitors: [bias]\n"
    )
    with pytest.raises(ValidationError, match="needs a facet"):
        load_schedule(path)


def _run(*results: tuple[MonitoringType, int]) -> MonitoringRun:
    monitors = tuple(
        MonitorResult(
            MonitoringType=kind,
            MonitoringExecutionStatus=MonitoringExecutionStatus.CompletedWithViolations
            if n
            else MonitoringExecutionStatus.Completed,
            Violations=tuple(
                Violation(
                    monitoring_type=kind, constraint_check_type="x_check", feature_name=f"f{i}", description=f"d{i}"
                )
                for i in range(n)
            ),
        )
        for kind, n in results
    )
    return MonitoringRun(
        MonitoringRunName="r",
        EndpointName="churn",
        BaselineName="b",
        WindowStart=T,
        WindowEnd=T + timedelta(hours=1),
        CreationTime=T,
        MonitoringExecutionStatus=MonitoringExecutionStatus.Completed,
        Monitors=monitors,
    )


def test_retraining_follows_the_per_monitor_setting_and_a_cooldown(tmp_path: Path) -> None:
    schedule = MonitoringSchedule.model_validate(
        {
            "MonitoringScheduleName": "s",
            "EndpointName": "churn",
            "BaselineName": "b",
            "ScheduleConfig": {"ScheduleExpression": "rate(1 hour)"},
            "RetrainCooldownSeconds": 6 * 3600,
            "Monitors": [{"MonitoringType": "data-quality"}, {"MonitoringType": "data-drift", "Retrain": True}],
        }
    )
    state = RetrainState(tmp_path)
    only_quality = decide_for_run(
        _run((MonitoringType.DataQuality, 2), (MonitoringType.DataDrift, 0)), schedule, state, T
    )
    assert not only_quality.Retrain and only_quality.Reason == "no violation of a monitor set to retrain"
    run = _run((MonitoringType.DataQuality, 1), (MonitoringType.DataDrift, 2))
    assert [v.feature_name for v in candidates(run, schedule)] == ["f0", "f1"]
    first = decide_for_run(run, schedule, state, T)
    assert first.Retrain and first.TriggeringViolation is not None and first.TriggeringViolation.feature_name == "f0"
    assert first.Reason.startswith("retraining requested by data-drift/x_check/f0")  # requested: nothing started
    assert first.RequestUri == str(state.path("churn"))
    storm = decide_for_run(run, schedule, state, T + timedelta(hours=1))
    assert not storm.Retrain and storm.CooldownUntil == T + timedelta(hours=6) and "cooldown" in storm.Reason
    assert state.last("churn") == first  # the record keeps the violation that started it
    later = decide_for_run(run, schedule, state, T + timedelta(hours=7))
    assert later.Retrain
    assert decide((), None, timedelta(0), T).Retrain is False
