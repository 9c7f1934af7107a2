"""A worked "bring your own container" example: L2-regularised logistic regression in plain numpy,
written against the platform's container contract (mlops.contract) and nothing else.

- ``train`` reads label-first CSV files (no header) from the ``train`` channel (and ``validation``,
  if given), fits by Newton's method, prints ``#metric`` lines that the job's MetricDefinitions pick
  up, and writes the model as JSON (never pickle) to /opt/ml/model/model.json. Bad input raises
  AlgorithmError, which the contract turns into /opt/ml/output/failure (the job's FailureReason).
- ``serve`` answers GET /ping and POST /invocations (text/csv rows of features) with
  ``{"predictions": [{"score": p}, ...]}`` (or one score a line for Accept: text/csv). The request and
  answer types are algorithm.json's; the contract's codecs (``mlops.contract.payloads``) parse the rows
  and write the answer, and refuse any other type with 415 naming the supported ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlops.contract import AlgorithmError, Layout
from mlops.contract.channels import channel_files
from mlops.contract.config import HyperParameters, read_hyperparameters, read_input_data_config
from mlops.contract.failure import run_training
from mlops.contract.inference_spec import InferenceTypes
from mlops.contract.metrics import log_metric
from mlops.contract.payloads import decode_features, encode_predictions

MODEL_FILE = "model.json"


def read_csv_channel(layout: Layout, channel: str) -> tuple[np.ndarray, np.ndarray]:
    files = channel_files(layout, channel)
    if not files:
        raise AlgorithmError(f"channel {channel!r} is empty: no files in {layout.channel_dir(channel)}")
    parts = []
    for path in files:
        try:
            parts.append(np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2))
        except ValueError as e:
            raise AlgorithmError(f"channel {channel!r}, file {path.name}: {e}") from None
    table = np.concatenate(parts)
    labels = table[:, 0]
    if not np.isin(labels, (0.0, 1.0)).all():
        raise AlgorithmError(f"channel {channel!r}: labels (first column) must be 0 or 1")
    return table[:, 1:], labels


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (tied scores share their average rank)."""
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1
    ranks = (first_rank + (counts - 1) / 2)[inverse]
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def logloss(labels: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def train(layout: Layout) -> None:
    hp = HyperParameters(read_hyperparameters(layout))
    channels = read_input_data_config(layout)
    if "train" not in channels:
        raise AlgorithmError("channel 'train' is required but was not given")
    l2 = hp.float("l2", 1.0) or 0.0
    iterations = hp.int("max_iterations", 25) or 25
    X, y = read_csv_channel(layout, "train")
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0
    Z = np.hstack([np.ones((len(X), 1)), (X - mean) / std])
    valid = None
    if "validation" in channels:
        Xv, yv = read_csv_channel(layout, "validation")
        if Xv.shape[1] != X.shape[1]:
            raise AlgorithmError(f"channel 'validation' has {Xv.shape[1]} features but 'train' has {X.shape[1]}")
        valid = (np.hstack([np.ones((len(Xv), 1)), (Xv - mean) / std]), yv)
    print(f"train: {len(X)} rows x {X.shape[1]} features", flush=True)
    w = np.zeros(Z.shape[1])
    penalty = np.full(Z.shape[1], l2)
    penalty[0] = 0.0  # no penalty on the intercept
    for step in range(iterations):
        p = sigmoid(Z @ w)
        gradient = Z.T @ (p - y) + penalty * w
        hessian = (Z * (p * (1 - p))[:, None]).T @ Z + np.diag(penalty) + 1e-9 * np.eye(len(w))
        delta = np.linalg.solve(hessian, gradient)
        w -= delta
        log_metric("train:logloss", logloss(y, sigmoid(Z @ w)), step=step)
        if valid is not None:
            pv = sigmoid(valid[0] @ w)
            log_metric("validation:logloss", logloss(valid[1], pv), step=step)
            log_metric("validation:auc", auc(valid[1], pv), step=step)
        if np.abs(delta).max() < 1e-8:
            break
    model = {"intercept": float(w[0]), "weights": w[1:].tolist(), "mean": mean.tolist(), "std": std.tolist()}
    layout.model_dir.mkdir(parents=True, exist_ok=True)
    (layout.model_dir / MODEL_FILE).write_text(json.dumps(model, indent=1, sort_keys=True))
    print(f"saved {MODEL_FILE} after {step + 1} Newton steps", flush=True)


def main_train() -> int:
    return run_training(train)


class Handler:
    """The four functions of SageMaker's inference toolkits, for mlops.contract.serving.serve."""

    def __init__(self) -> None:
        self.types = InferenceTypes.load(Path(__file__).resolve().parent / "algorithm.json")
        self.default_accept = self.types.DefaultResponseMIMEType
        self.features: int | None = None

    def model_fn(self, model_dir: Path) -> dict[str, np.ndarray]:
        path = model_dir / MODEL_FILE
        if not path.exists():
            raise AlgorithmError(f"{MODEL_FILE} not found in {model_dir}")
        raw = json.loads(path.read_text())
        model = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items()}
        self.features = len(model["weights"])
        return model

    def input_fn(self, body: bytes, content_type: str) -> np.ndarray:
        rows = decode_features(body, content_type, self.features, self.types.SupportedContentTypes)
        return np.asarray(rows.toarray() if hasattr(rows, "toarray") else rows, dtype=np.float64)

    def predict_fn(self, data: np.ndarray, model: dict[str, np.ndarray]) -> np.ndarray:
        if data.shape[1] != len(model["weights"]):
            raise AlgorithmError(f"each row needs {len(model['weights'])} features; got {data.shape[1]}")
        z = ((data - model["mean"]) / model["std"]) @ model["weights"] + model["intercept"]
        return sigmoid(z)

    def output_fn(self, prediction: np.ndarray, accept: str) -> tuple[bytes, str]:
        records = [{"score": float(p)} for p in prediction]
        return encode_predictions(records, accept, self.types.SupportedResponseMIMETypes)


def main_serve() -> int:
    from mlops.contract.serving import serve

    return serve(Handler())
