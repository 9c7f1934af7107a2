"""Evaluating a trained model as it will be served: start its model server, send the test split
through POST /invocations in batches, and score the answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn import metrics as skm

from mlops.contract.csv_format import read_csv
from mlops.contract.errors import ChannelDataError
from mlops.core.errors import ValidationError
from mlops.core.training import TrainingJob, TrainingJobStatus
from mlops.runtime.interface import ModelServerRuntime
from mlops.services.encodings import encoding_of, known, refuse_mismatch
from mlops.services.label_first_csv import HEADERLESS, refuse_unless_label_first

BATCH_ROWS = 500


@dataclass(frozen=True)
class Evaluation:
    problem: str  # binary | multiclass | regression
    rows: int
    metrics: dict[str, float]
    # Classification: rows are actual classes, columns predicted ones (binary at the 0.5 threshold).
    confusion_matrix: tuple[tuple[int, ...], ...] | None = None


def problem_of(labels: np.ndarray, scores: list[object]) -> str:
    if scores and isinstance(scores[0], list):
        return "multiclass"
    distinct = np.unique(labels)
    if set(distinct.tolist()) <= {0.0, 1.0}:
        return "binary"
    return "regression"


def score_predictions(labels: np.ndarray, scores: list[object]) -> Evaluation:
    problem = problem_of(labels, scores)
    matrix = None
    if problem == "binary":
        p = np.asarray(scores, dtype=float)
        predicted = (p >= 0.5).astype(int)
        values = {
            "auc": skm.roc_auc_score(labels, p),
            "accuracy": skm.accuracy_score(labels, predicted),
            "precision": skm.precision_score(labels, predicted, zero_division=0),
            "recall": skm.recall_score(labels, predicted, zero_division=0),
            "f1": skm.f1_score(labels, predicted, zero_division=0),
        }
        if p.min() >= 0 and p.max() <= 1:
            values["logloss"] = skm.log_loss(labels, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1])
        matrix = skm.confusion_matrix(labels, predicted, labels=[0, 1])
    elif problem == "multiclass":
        probabilities = np.asarray(scores, dtype=float)
        predicted = probabilities.argmax(axis=1)
        classes = list(range(probabilities.shape[1]))
        values = {
            "accuracy": skm.accuracy_score(labels, predicted),
            "precision": skm.precision_score(labels, predicted, labels=classes, average="macro", zero_division=0),
            "recall": skm.recall_score(labels, predicted, labels=classes, average="macro", zero_division=0),
            "f1": skm.f1_score(labels, predicted, labels=classes, average="macro", zero_division=0),
        }
        if len(np.unique(labels)) == len(classes):  # one-vs-rest AUC needs every class in the test split
            values["auc"] = skm.roc_auc_score(labels, probabilities, multi_class="ovr", labels=classes)
        matrix = skm.confusion_matrix(labels, predicted, labels=classes)
    else:
        p = np.asarray(scores, dtype=float)
        values = {
            "rmse": float(np.sqrt(skm.mean_squared_error(labels, p))),
            "mae": skm.mean_absolute_error(labels, p),
            "r2": skm.r2_score(labels, p),
        }
    confusion = None if matrix is None else tuple(tuple(int(c) for c in row) for row in matrix.tolist())
    return Evaluation(problem, len(labels), {k: float(v) for k, v in values.items()}, confusion)


def invoke(url: str, body: bytes, content_type: str = "text/csv", accept: str = "application/json") -> bytes:
    """POST /invocations; a refusal (4xx) is a ``ValidationError`` carrying the server's own message
    ("each row needs 22 features; got 9")."""
    target = url.rstrip("/") + "/invocations"
    request = urllib.request.Request(
        target, data=body, method="POST", headers={"Content-Type": content_type, "Accept": accept}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as e:
        if not 400 <= e.code < 500:
            raise
        message = " ".join(e.read().decode("utf-8", errors="replace").split()) or str(e.reason)
        raise ValidationError("model server", f"{target} answered HTTP {e.code}: {message}") from None


def predict_csv(url: str, features: np.ndarray) -> list[object]:
    scores: list[object] = []
    for start in range(0, len(features), BATCH_ROWS):
        chunk = features[start : start + BATCH_ROWS]
        body = "\n".join(",".join(f"{v:.9g}" for v in row) for row in chunk.tolist()).encode()
        try:
            answer = json.loads(invoke(url, body))
        except ValidationError as e:
            rows = f"rows {start + 1}-{start + len(chunk)}"
            raise ValidationError("test", f"the model server refused {rows} of the test data: {e.message}") from None
        scores.extend(p["score"] for p in answer["predictions"])
    return scores


def evaluate_job(job: TrainingJob, test_csv: Path, servers: ModelServerRuntime) -> Evaluation:
    labels, scores = predict_job(job, test_csv, servers)
    return score_predictions(labels, scores)


def predict_job(job: TrainingJob, test_csv: Path, servers: ModelServerRuntime) -> tuple[np.ndarray, list[object]]:
    """Serve the job's model and score a label-first test CSV: (labels, the server's scores)."""
    if job.TrainingJobStatus is not TrainingJobStatus.Completed or job.ModelArtifacts is None:
        raise ValidationError(
            "job", f"{job.TrainingJobName} is {job.TrainingJobStatus.value}; only a Completed job has a model"
        )
    algorithm = job.AlgorithmSpecification.AlgorithmName or job.AlgorithmSpecification.TrainingImage
    if algorithm is None:
        raise ValidationError("job", f"{job.TrainingJobName} names no algorithm to serve it with")
    if job.ModelArtifactSha256 is None:
        raise ValidationError(
            "job", f"{job.TrainingJobName} recorded no sha256 of its model artifact; it is not served unchecked"
        )
    table = read_test_csv(test_csv)
    refuse_mismatch(
        "test",
        encoding_of(str(test_csv)),
        known(job.FeatureEncoding, f"training job {job.TrainingJobName}'s encoding"),
        "evaluate on data encoded as the training data was (a split of the same dataset version, or data "
        "ingested with --encoding-from)",
    )
    labels, features = table[:, 0], table[:, 1:]
    server = servers.start_server(algorithm, job.ModelArtifacts.S3ModelArtifacts, job.ModelArtifactSha256)
    try:
        scores = predict_csv(server.url, features)
    finally:
        servers.stop_server(server)
    return labels, scores


def read_test_csv(test_csv: Path) -> np.ndarray:
    """The rows (label first) of a label-first, headerless CSV, read as the algorithms read a channel; a header
    or a bad line is refused naming the file and the line."""
    if not test_csv.is_file():
        raise ValidationError("test", f"{test_csv} {'is not a file' if test_csv.exists() else 'does not exist'}")
    refuse_unless_label_first(test_csv, "test", "make one with `mlops data split` (its test part)")
    try:
        with open(test_csv, "rb") as f:
            data = read_csv(f, "test", str(test_csv))
    except ChannelDataError as e:  # "channel 'test', file F, line N: why" said as "F line N: why"
        line = f" line {e.line}" if e.line is not None else ""
        why = str(e).removeprefix(f"channel 'test', file {test_csv}{line.replace(' line', ', line')}: ")
        raise ValidationError("test", f"{test_csv}{line}: {why} ({HEADERLESS})") from None
    if data.rows == 0 or data.y is None:
        raise ValidationError("test", f"{test_csv} holds no rows")
    return np.column_stack([data.y, np.asarray(data.X)])
