"""Baselines, schedules and retraining state are files named after checked names only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.core.monitoring import MonitoringSchedule, ScheduleConfig
from mlops.monitoring.baseline import BaselineStore
from mlops.monitoring.retrain import RetrainState
from mlops.monitoring.schedule import save_schedule


@pytest.mark.parametrize("name", ["../x", "x\n", "/abs"])
def test_names_that_are_paths_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValidationError):
        BaselineStore(tmp_path / "baselines").load(name)
    with pytest.raises(ValidationError) as e:
        RetrainState(tmp_path / "retrain").last(name)
    assert e.value.field == "EndpointName"
    schedule = MonitoringSchedule.model_construct(
        MonitoringScheduleName=name,
        EndpointName="churn",
        BaselineName="churn",
        ScheduleConfig=ScheduleConfig(ScheduleExpression="rate(1 hour)"),
        CreationTime=datetime(2026, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ValidationError) as e:
        save_schedule(tmp_path / "schedules", schedule)
    assert e.value.field == "MonitoringScheduleName"
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_baseline_folder_linked_elsewhere_is_refused(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path / "baselines")
    store.root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (store.root / "churn").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ValidationError, match="leads outside"):
        store.load("churn")
