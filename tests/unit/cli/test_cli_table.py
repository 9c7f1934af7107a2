"""The listings' one table printer: a header row, widths from the data, at most the width it is given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlops.cli.table import Column, cut, render_table
from mlops.cli.training import JOB_COLUMNS, job_rows
from mlops.core.training import (
    AlgorithmSpecification,
    MetricData,
    OutputDataConfig,
    ResourceConfig,
    SecondaryStatus,
    StoppingCondition,
    TrainingJob,
    TrainingJobStatus,
    training_job_arn,
)

# What a linear-learner binary classifier reports: ~250 characters of metrics.
LINEAR_LEARNER_METRICS = {
    "train:objective_loss": 0.493522,
    "validation:binary_classification_accuracy": 0.816667,
    "validation:binary_f_beta": 0.696133,
    "validation:objective_loss": 0.460842,
    "validation:precision": 0.715909,
    "validation:recall": 0.677419,
    "validation:roc_auc_score": 0.861929,
}


def job(name: str, metrics: dict[str, float]) -> TrainingJob:
    now = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    return TrainingJob(
        TrainingJobName=name,
        TrainingJobArn=training_job_arn(name),
        TrainingJobStatus=TrainingJobStatus.Completed,
        SecondaryStatus=SecondaryStatus.Completed,
        AlgorithmSpecification=AlgorithmSpecification(AlgorithmName="linear-learner"),
        OutputDataConfig=OutputDataConfig(S3OutputPath="/tmp/artifacts"),
        ResourceConfig=ResourceConfig(),
        StoppingCondition=StoppingCondition(),
        FinalMetricDataList=tuple(MetricData(MetricName=k, Value=v, Timestamp=now) for k, v in metrics.items()),
        CreationTime=now,
        TrainingStartTime=now,
        TrainingEndTime=now,
        LastModifiedTime=now,
    )


def test_a_linear_learner_job_fits_in_120_columns_with_its_first_metrics() -> None:
    long_name = "linear-learner-2026-12-03-11-51-18-527"
    rows, elided = job_rows([job(long_name, LINEAR_LEARNER_METRICS), job("xgb", {"validation:auc": 0.86})])
    assert elided
    lines = render_table(JOB_COLUMNS, rows, 120)
    assert lines[0].split() == ["NAME", "STATUS", "RUNTIME", "DURATION", "METRICS"]
    assert all(len(line) <= 120 for line in lines), lines
    assert lines[1].startswith(long_name + "  ") and "validation:binary_classification_accuracy=0.8167" in lines[1]
    assert "train:" not in lines[1] and lines[1].endswith("…")
    assert lines[2].endswith("validation:auc=0.86")
    assert len(" ".join(f"{k}={v}" for k, v in LINEAR_LEARNER_METRICS.items())) > 200  # what used to be printed


def test_only_cuttable_columns_shrink_and_never_below_their_header() -> None:
    columns = (Column("NAME", elide="never"), Column("SOURCE", elide="start"), Column("NOTE"))
    rows = [["a-name-that-must-stay-whole", "/a/long/path/to/the/file.csv", "x" * 50]]
    lines = render_table(columns, rows, 60)
    assert all(len(line) <= 60 for line in lines), lines
    assert lines[1].startswith("a-name-that-must-stay-whole  ")
    assert "…" in lines[1] and lines[1].split()[1].startswith("…")  # a path keeps its end
    narrowest = render_table(columns, rows, 10)  # names win over the width
    assert narrowest[1].startswith("a-name-that-must-stay-whole") and narrowest[0].split() == ["NAME", "SOURCE", "NOTE"]


def test_max_width_cuts_even_when_there_is_room_and_right_alignment() -> None:
    lines = render_table((Column("ROWS", align=">"), Column("ALIASES", max_width=8)), [["7", "prod,staging,canary"]], 120)
    assert lines == ["ROWS  ALIASES", "   7  prod,st…"]


def test_cut_and_a_row_of_the_wrong_length() -> None:
    assert cut("abcdef", 4) == "abc…" and cut("abcdef", 4, "start") == "…def" and cut("abc", 4) == "abc"
    assert cut("abcdef", 2, "never") == "abcdef"
    with pytest.raises(ValueError, match="2 cells for 1 columns"):
        render_table((Column("A"),), [["x", "y"]], 120)
