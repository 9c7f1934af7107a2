"""The convergence plot of a tuning job: each training job's objective and the best so far."""

from __future__ import annotations

from pathlib import Path

from mlops.core.algorithm import ObjectiveType
from mlops.core.training import TrainingJobStatus
from mlops.core.tuning_job import TuningJob


def convergence_plot(job: TuningJob, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objective = job.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective
    maximize = objective.Type is ObjectiveType.Maximize
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    best: float | None = None
    xs, bests = [], []
    colours = {TrainingJobStatus.Completed: "tab:blue", TrainingJobStatus.Stopped: "tab:orange"}
    for i, summary in enumerate(job.TrainingJobSummaries, start=1):
        metric = summary.FinalHyperParameterTuningJobObjectiveMetric
        if metric is None:
            ax.scatter([i], [float("nan")], marker="x", color="tab:red")
            continue
        value = metric.Value
        ax.scatter([i], [value], color=colours.get(summary.TrainingJobStatus, "tab:gray"), s=22, zorder=3)
        best = value if best is None or (value > best if maximize else value < best) else best
        xs.append(i)
        bests.append(best)
    if xs:
        ax.step(xs, bests, where="post", color="tab:green", label="best so far", linewidth=2)
    ax.scatter([], [], color="tab:blue", label="completed job")
    ax.scatter([], [], color="tab:orange", label="stopped early")
    ax.set_xlabel("training job (in the order they finished)")
    ax.set_ylabel(f"{objective.MetricName} ({objective.Type.value.lower()})")
    strategy = job.HyperParameterTuningJobConfig.Strategy.value
    ax.set_title(f"{job.HyperParameterTuningJobName}: {strategy} search")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if maximize else "upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
