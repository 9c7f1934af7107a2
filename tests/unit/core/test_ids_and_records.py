from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlops.core.errors import ValidationError
from mlops.core.ids import check_name, unique_job_name
from mlops.core.training import TrainingJobStatus


def test_job_names_follow_sagemaker_rules() -> None:
    name = unique_job_name("xgboost", datetime(2026, 11, 22, 2, 50, 12, 123000, tzinfo=UTC))
    assert name == "xgboost-2026-11-22-02-50-12-123"
    long = unique_job_name("a" * 80)
    assert len(long) <= 63 and check_name("n", long)
    assert unique_job_name("my model_v2!").startswith("my-model-v2-")


@pytest.mark.parametrize("bad", ["", "-x", "x-", "has space", "a" * 64, "under_score"])
def test_bad_names_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        check_name("TrainingJobName", bad)


def test_terminal_statuses() -> None:
    assert {s for s in TrainingJobStatus if s.terminal} == {
        TrainingJobStatus.Completed,
        TrainingJobStatus.Failed,
        TrainingJobStatus.Stopped,
    }
