"""Warm start: observations of parent tuning jobs, placed in this job's search space.

* ``IdenticalDataAndAlgorithm``: the parents optimised the same function, so every parent job with a final
  objective value is used as-is, wherever its hyperparameters can be expressed in the new space (same
  tuned names, known categorical values, values a logarithmic scale can hold); numeric values outside the
  new ranges are kept at their extrapolated coordinates, where they still inform the surrogate.
* ``TransferLearning``: data, algorithm or static hyperparameters may differ, so only parent jobs whose
  tuned hyperparameters all lie inside the new ranges are used (extra hyperparameters are ignored).

Failed parent jobs, and jobs whose metric is not this job's objective metric, are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlops.core.errors import ValidationError
from mlops.core.training import TrainingJobStatus
from mlops.core.tuning import (
    HyperParameterTrainingJobSummary,
    HyperParameterTuningJobObjective,
    HyperParameterTuningJobWarmStartConfig,
    WarmStartType,
)
from mlops.tuning.space import SearchSpace
from mlops.tuning.strategy import to_loss


@dataclass(frozen=True)
class PriorPoint:
    """A parent job's configuration as a unit vector, and its loss."""

    unit: NDArray[np.float64]
    loss: float
    hyperparameters: tuple[str, ...]


def warm_start_points(
    space: SearchSpace,
    objective: HyperParameterTuningJobObjective,
    config: HyperParameterTuningJobWarmStartConfig,
    parent_jobs: Sequence[HyperParameterTrainingJobSummary],
) -> list[PriorPoint]:
    strict = config.WarmStartType is WarmStartType.TransferLearning
    points: list[PriorPoint] = []
    for job in parent_jobs:
        metric = job.FinalHyperParameterTuningJobObjectiveMetric
        if job.TrainingJobStatus is TrainingJobStatus.Failed or metric is None:
            continue
        if metric.MetricName != objective.MetricName:
            continue
        loss = to_loss(objective, metric.Value)
        if loss is None:
            continue
        try:
            unit = space.encode(job.TunedHyperParameters, strict=strict)
        except ValidationError:
            continue
        key = tuple(job.TunedHyperParameters[name] for name in space.names)
        points.append(PriorPoint(unit, loss, key))
    return points
