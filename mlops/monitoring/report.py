"""The run's HTML report: evidently's ``Report`` with ``DataDriftPreset`` (and, when ground truth was
joined, its classification or regression preset), over a sample of the window (``MAX_ROWS``) and of the
baseline's reference: evidently renders every widget while it computes, so the full window would cost
minutes where the sample costs seconds; the violations themselves are computed on the whole window."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.core.datasets import ProblemType
from mlops.core.monitoring import MonitorSpec
from mlops.monitoring.constraints import is_categorical

MAX_ROWS = 20_000
TARGET, PREDICTION = "target", "prediction"


def _sample(frame: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), rows, replace=False))]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(str)
    return out


def write_report(
    path: Path,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    spec: MonitorSpec | None = None,
    problem: ProblemType | None = None,
    reference_outcomes: tuple[np.ndarray, np.ndarray] | None = None,
    current_outcomes: tuple[np.ndarray, np.ndarray] | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> int:
    """Write evidently's HTML report; returns the number of window rows it shows. Outcomes are
    (labels, predicted labels or values) aligned with the frames' rows, where ground truth is known."""
    from evidently import BinaryClassification, DataDefinition, Dataset, MulticlassClassification, Regression, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset, RegressionPreset

    rng = np.random.default_rng(seed)
    columns = [c for c in reference.columns if c in current.columns]
    ref, cur = reference[columns], current[columns]
    categorical = [str(c) for c in columns if is_categorical(reference[c])]
    numerical = [str(c) for c in columns if str(c) not in categorical]
    metrics: list[object] = [
        DataDriftPreset(
            columns=[str(c) for c in columns],
            drift_share=spec.DriftShare if spec else 0.5,
            per_column_method=dict(spec.DriftMethods) if spec and spec.DriftMethods else None,
            per_column_threshold=dict(spec.DriftThresholds) if spec and spec.DriftThresholds else None,
        )
    ]
    task: dict[str, object] = {}
    if problem is not None and reference_outcomes is not None and current_outcomes is not None:
        ref = ref.assign(**{TARGET: reference_outcomes[0], PREDICTION: reference_outcomes[1]})
        cur = cur.assign(**{TARGET: current_outcomes[0], PREDICTION: current_outcomes[1]})
        ref, cur = ref.dropna(subset=[TARGET]), cur.dropna(subset=[TARGET])
        if len(cur) and len(ref):
            if problem is ProblemType.Regression:
                task["regression"] = [Regression(target=TARGET, prediction=PREDICTION)]
                metrics.append(RegressionPreset())
            else:
                ref, cur = ref.astype({TARGET: int, PREDICTION: int}), cur.astype({TARGET: int, PREDICTION: int})
                kind = BinaryClassification if problem is ProblemType.BinaryClassification else MulticlassClassification
                task["classification"] = [kind(target=TARGET, prediction_labels=PREDICTION)]
                metrics.append(ClassificationPreset())
    ref, cur = _plain(_sample(ref, max_rows, rng)), _plain(_sample(cur, max_rows, rng))
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical, **task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report(metrics, include_tests=True).run(
            current_data=Dataset.from_pandas(cur, data_definition=definition),
            reference_data=Dataset.from_pandas(ref, data_definition=definition),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(path))
    return len(cur)
