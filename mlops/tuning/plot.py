"""The convergence plot of a tuning job: each training job's objective and the best so far.

Jobs are numbered 1, 2, 3 … in the order they finished (integer ticks); the legend sits beside the axes,
never over the points, and lists only what the plot shows (no "stopped early" entry when none stopped).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlops.core.algorithm import ObjectiveType
from mlops.core.training import TrainingJobStatus
from mlops.core.tuning_job import TuningJob

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_KINDS = {
    TrainingJobStatus.Completed: ("completed job", "tab:blue"),
    TrainingJobStatus.Stopped: ("stopped early", "tab:orange"),
}


def convergence_figure(job: TuningJob) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    objective = job.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective
    maximize = objective.Type is ObjectiveType.Maximize
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    points: dict[str, tuple[list[int], list[float], str]] = {}
    failed: list[int] = []
    best: float | None = None
    xs, bests = [], []
    for i, summary in enumerate(job.TrainingJobSummaries, start=1):
        metric = summary.FinalHyperParameterTuningJobObjectiveMetric
        if metric is None:
            failed.append(i)
            continue
        label, colour = _KINDS.get(summary.TrainingJobStatus, ("other", "tab:gray"))
        points.setdefault(label, ([], [], colour))
        points[label][0].append(i)
        points[label][1].append(metric.Value)
        best = metric.Value if best is None or (metric.Value > best if maximize else metric.Value < best) else best
        xs.append(i)
        bests.append(best)
    for label, (px, py, colour) in points.items():
        ax.scatter(px, py, color=colour, s=22, zorder=3, label=label)
    if xs:
        ax.step(xs, bests, where="post", color="tab:green", label="best so far", linewidth=2)
    if failed:  # no objective value: marked on the bottom edge of the axes
        ax.scatter(failed, [0.0] * len(failed), marker="x", color="tab:red", label="no objective (failed)",
                   transform=ax.get_xaxis_transform(), clip_on=False, zorder=4)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if job.TrainingJobSummaries:
        ax.set_xlim(0.5, len(job.TrainingJobSummaries) + 0.5)
    ax.set_xlabel("training job (in the order they finished)")
    ax.set_ylabel(f"{objective.MetricName} ({objective.Type.value.lower()})")
    strategy = job.HyperParameterTuningJobConfig.Strategy.value
    ax.set_title(f"{job.HyperParameterTuningJobName}: {strategy} search")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    fig.tight_layout()
    return fig


def convergence_plot(job: TuningJob, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig = convergence_figure(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
