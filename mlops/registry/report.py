"""A model version's evaluation report: the metrics as JSON and a picture (ROC curve for classification,
residual plot for regression), drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def write_metrics_json(
    folder: Path,
    problem: str,
    rows: int,
    metrics: Mapping[str, float],
    confusion_matrix: Sequence[Sequence[int]] | None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """SageMaker's model-quality statistics shape: {"<problem>_metrics": {name: {"value": v}}}."""
    key = {"binary": "binary_classification_metrics", "multiclass": "multiclass_classification_metrics"}.get(
        problem, "regression_metrics"
    )
    body: dict[str, Any] = {"version": 0.0, key: {name: {"value": value} for name, value in metrics.items()}}
    if confusion_matrix is not None:
        body[key]["confusion_matrix"] = {
            str(actual): {str(predicted): int(count) for predicted, count in enumerate(row)}
            for actual, row in enumerate(confusion_matrix)
        }
    body["evaluated_rows"] = rows
    body.update(extra or {})
    path = folder / "metrics.json"
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def write_plot(folder: Path, problem: str, labels: np.ndarray, scores: Sequence[Any], title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from sklearn import metrics as skm

    figure, axes = plt.subplots(figsize=(5.5, 4.5), dpi=100)
    try:
        if problem == "regression":
            predicted = np.asarray(scores, dtype=float)
            axes.scatter(predicted, labels - predicted, s=6, alpha=0.5)
            axes.axhline(0, color="black", linewidth=0.8)
            axes.set_xlabel("predicted")
            axes.set_ylabel("residual (actual - predicted)")
            name = "residuals.png"
        else:
            if problem == "binary":
                curves = [("", labels, np.asarray(scores, dtype=float))]
            else:
                probabilities = np.asarray(scores, dtype=float)
                curves = [
                    (f"class {k} ", (labels == k).astype(int), probabilities[:, k])
                    for k in range(probabilities.shape[1])
                    if 0 < (labels == k).sum() < len(labels)
                ]
            for label, truth, score in curves:
                fpr, tpr, _ = skm.roc_curve(truth, score)
                axes.plot(fpr, tpr, label=f"{label}AUC {skm.auc(fpr, tpr):.3f}")
            axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
            axes.set_xlabel("false positive rate")
            axes.set_ylabel("true positive rate")
            axes.legend(loc="lower right")
            name = "roc.png"
        axes.set_title(title, fontsize=10)
        figure.tight_layout()
        path = folder / name
        figure.savefig(path)
    finally:
        plt.close(figure)
    return path
