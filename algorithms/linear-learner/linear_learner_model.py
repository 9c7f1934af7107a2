"""The model artifact: framework-neutral, pickle-free, byte-reproducible; and scoring with numpy alone.

/opt/ml/model holds two files:

- ``model.json``: format and version, predictor type, loss, what ``score`` means (a probability, a
  raw margin for hinge_loss, or the regression value), the decision threshold, feature count, classes,
  label normalisation and the hyperparameters of the chosen model;
- ``model.npz``: ``weights`` [feature_dim, outputs] and ``bias`` [outputs] in the normalised feature
  space, and the feature normalisation ``feature_shift`` and ``feature_scale`` [feature_dim], written
  with ``numpy.lib.format`` into a zip with fixed timestamps (``numpy.savez`` stamps the time) and read
  with ``allow_pickle=False``.

A prediction is ``((x - feature_shift) * feature_scale) @ weights + bias``, then for a regressor
``* label_scale + label_shift``; loading folds the normalisation into the weights so that sparse rows
stay sparse.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlops.contract import AlgorithmError

FORMAT = "mlops-linear-learner"
FORMAT_VERSION = 1
JSON_FILE = "model.json"
WEIGHTS_FILE = "model.npz"
ARRAYS = ("weights", "bias", "feature_shift", "feature_scale")


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like numpy.savez, but byte-identical for identical arrays (fixed zip timestamps, fixed order)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def save(model_dir: Path, description: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "weights_file": WEIGHTS_FILE,
        **description,
    }
    (model_dir / JSON_FILE).write_text(json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n")
    write_npz(model_dir / WEIGHTS_FILE, {name: arrays[name] for name in ARRAYS})


@dataclass(frozen=True)
class LinearModel:
    """A loaded model, normalisation folded in: ``score = x @ weights + bias`` (then the label scale)."""

    description: dict[str, Any]
    weights: np.ndarray  # [feature_dim, outputs], float64
    bias: np.ndarray  # [outputs]

    @property
    def predictor_type(self) -> str:
        return str(self.description["predictor_type"])

    @property
    def feature_dim(self) -> int:
        return int(self.description["feature_dim"])

    @property
    def threshold(self) -> float:
        return float(self.description.get("threshold", 0.5))

    @classmethod
    def from_arrays(cls, description: dict[str, Any], arrays: dict[str, np.ndarray]) -> LinearModel:
        scale = arrays["feature_scale"].astype(np.float64)
        weights = arrays["weights"].astype(np.float64) * scale[:, None]
        bias = arrays["bias"].astype(np.float64) - arrays["feature_shift"].astype(np.float64) @ weights
        label = description.get("label_normalization", {"shift": 0.0, "scale": 1.0})
        if description["predictor_type"] == "regressor":
            weights = weights * float(label["scale"])
            bias = bias * float(label["scale"]) + float(label["shift"])
        return cls(description, weights, bias)

    def raw_scores(self, X: Any) -> np.ndarray:
        """[rows, outputs] linear scores (regression values in label units)."""
        if X.shape[1] != self.feature_dim:
            raise AlgorithmError(f"each row needs {self.feature_dim} features; got {X.shape[1]}")
        if isinstance(X, np.ndarray):
            return np.asarray(X, dtype=np.float64) @ self.weights + self.bias
        return np.asarray(X.astype(np.float64) @ self.weights) + self.bias

    def scores(self, X: Any) -> np.ndarray:
        """What the model answers as ``score``: [rows] for binary and regression, [rows, classes] else."""
        raw = self.raw_scores(X)
        if self.predictor_type == "multiclass_classifier":
            shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        if self.predictor_type == "binary_classifier" and self.description.get("score") == "probability":
            return 1.0 / (1.0 + np.exp(-np.clip(raw[:, 0], -500, 500)))
        return raw[:, 0]

    def records(self, X: Any) -> list[dict[str, Any]]:
        """Linear Learner's response records: score (and predicted_label for classifiers)."""
        scores = self.scores(X)
        if self.predictor_type == "regressor":
            return [{"score": float(v)} for v in scores]
        if self.predictor_type == "binary_classifier":
            labels = (scores > self.threshold).astype(int)
            return [
                {"score": float(s), "predicted_label": int(k)} for s, k in zip(scores, labels, strict=True)
            ]
        labels = scores.argmax(axis=1)
        return [
            {"score": [float(v) for v in row], "predicted_label": int(k)}
            for row, k in zip(scores, labels, strict=True)
        ]


def load(model_dir: Path) -> LinearModel:
    json_path, npz_path = model_dir / JSON_FILE, model_dir / WEIGHTS_FILE
    if not json_path.exists() or not npz_path.exists():
        raise AlgorithmError(f"{JSON_FILE} and {WEIGHTS_FILE} are needed in the model folder")
    description = json.loads(json_path.read_text())
    if description.get("format") != FORMAT or description.get("format_version") != FORMAT_VERSION:
        raise AlgorithmError(f"{JSON_FILE} is not a {FORMAT} model of version {FORMAT_VERSION}")
    with np.load(npz_path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in ARRAYS}
    return LinearModel.from_arrays(description, arrays)
