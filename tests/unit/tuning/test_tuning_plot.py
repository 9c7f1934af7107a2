"""The convergence plot: integer job numbers, the legend beside the axes, only entries the plot shows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from mlops.core.training import AlgorithmSpecification, OutputDataConfig, TrainingJobStatus
from mlops.core.tuning import (
    ContinuousParameterRange,
    FinalHyperParameterTuningJobObjectiveMetric,
    HyperParameterTrainingJobSummary,
    HyperParameterTuningJobConfig,
    HyperParameterTuningJobObjective,
    ObjectiveType,
    ParameterRanges,
    ResourceLimits,
)
from mlops.core.tuning_job import HyperParameterTrainingJobDefinition, HyperParameterTuningJobStatus, TuningJob
from mlops.tuning.plot import convergence_figure, convergence_plot

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _job(statuses: list[tuple[TrainingJobStatus, float | None]]) -> TuningJob:
    objective = HyperParameterTuningJobObjective(Type=ObjectiveType.Maximize, MetricName="validation:auc")
    summaries = tuple(
        HyperParameterTrainingJobSummary(
            TrainingJobName=f"job-{i}",
            TrainingJobStatus=status,
            TunedHyperParameters={"eta": "0.1"},
            FinalHyperParameterTuningJobObjectiveMetric=None if value is None else
            FinalHyperParameterTuningJobObjectiveMetric(Type=objective.Type, MetricName=objective.MetricName, Value=value),
        )
        for i, (status, value) in enumerate(statuses, start=1)
    )
    return TuningJob(
        HyperParameterTuningJobName="plot", HyperParameterTuningJobArn="arn:plot",
        HyperParameterTuningJobStatus=HyperParameterTuningJobStatus.Completed,
        HyperParameterTuningJobConfig=HyperParameterTuningJobConfig(
            HyperParameterTuningJobObjective=objective,
            ResourceLimits=ResourceLimits(MaxNumberOfTrainingJobs=10, MaxParallelTrainingJobs=1),
            ParameterRanges=ParameterRanges(ContinuousParameterRanges=(
                ContinuousParameterRange(Name="eta", MinValue="0.01", MaxValue="0.5"),))),
        TrainingJobDefinition=HyperParameterTrainingJobDefinition(
            AlgorithmSpecification=AlgorithmSpecification(AlgorithmName="xgboost"), InputDataConfig=(),
            OutputDataConfig=OutputDataConfig(S3OutputPath="/tmp/out")),
        TrainingJobSummaries=summaries, CreationTime=NOW, LastModifiedTime=NOW)


def _labels(job: TuningJob) -> list[str]:
    fig = convergence_figure(job)
    try:
        return fig.axes[0].get_legend_handles_labels()[1]
    finally:
        plt.close(fig)


def test_no_stopped_early_entry_when_none_stopped() -> None:
    labels = _labels(_job([(TrainingJobStatus.Completed, v) for v in (0.7, 0.8, 0.75)]))
    assert labels == ["completed job", "best so far"]


def test_stopped_and_failed_jobs_get_their_entries() -> None:
    labels = _labels(_job([(TrainingJobStatus.Completed, 0.7), (TrainingJobStatus.Stopped, 0.6),
                           (TrainingJobStatus.Failed, None)]))
    assert labels == ["completed job", "stopped early", "best so far", "no objective (failed)"]


@pytest.mark.parametrize("jobs", [3, 7, 40])
def test_x_ticks_are_whole_job_numbers(jobs: int) -> None:
    fig = convergence_figure(_job([(TrainingJobStatus.Completed, 0.5 + i / 100) for i in range(jobs)]))
    try:
        fig.canvas.draw()
        ticks = [t for t in fig.axes[0].get_xticks() if 0.5 <= t <= jobs + 0.5]
        assert ticks and all(float(t).is_integer() for t in ticks)
    finally:
        plt.close(fig)


def test_the_legend_does_not_cover_the_points() -> None:
    fig = convergence_figure(_job([(TrainingJobStatus.Completed, v) for v in (0.1, 0.9, 0.5, 0.95)]))
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent()
        assert not legend.overlaps(ax.get_window_extent())
    finally:
        plt.close(fig)


def test_convergence_plot_writes_a_png(tmp_path: Path) -> None:
    path = convergence_plot(_job([(TrainingJobStatus.Completed, 0.7)]), tmp_path / "c" / "convergence.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
