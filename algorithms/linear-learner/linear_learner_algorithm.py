"""SageMaker-style Linear Learner: training and inference on the container contract.

Training (``train``) reads the ``train`` channel (required) and the optional ``validation`` and
``test`` channels as text/csv (label first) or recordio-protobuf, File or Pipe mode; checks the labels
against ``predictor_type``; normalises features (and a regressor's label) from a sample of the train
data; trains ``num_models`` linear models in parallel with torch (linear_learner_sgd); picks the best
model and, for a binary classifier, its decision threshold on the validation channel (train if absent)
by ``binary_classifier_model_selection_criteria``; logs ``#metric`` lines with Linear Learner's names
(``train:objective_loss`` and ``validation:objective_loss`` every epoch with ``step=<epoch>``, then the
final ``validation:*`` and ``test:*`` metrics); and writes a pickle-free model (linear_learner_model).

Inference (``serve``) answers text/csv, application/json, application/jsonlines and
application/x-recordio-protobuf requests in Linear Learner's response shapes:
binary ``{"score": 0.93, "predicted_label": 1}``, multiclass ``{"score": [p0, p1, ...],
"predicted_label": k}``, regressor ``{"score": 3.2}``, wrapped in ``{"predictions": [...]}`` for JSON,
one object per line for JSON lines, label maps for recordio. SageMaker's Linear Learner has no CSV
response; ours (an extension, for batch transform) is one line per row holding ``predicted_label``
for classifiers and ``score`` for regressors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from linear_learner_metrics import binary_metrics, choose_threshold, multiclass_metrics, regression_metrics
from linear_learner_model import LinearModel, load, save
from linear_learner_params import BINARY, MULTICLASS, REGRESSOR, Settings, resolve

from mlops.contract import AlgorithmError, ChannelDataError, Layout
from mlops.contract.channels import channel_files, read_channel, reader_for
from mlops.contract.config import ChannelConfig, read_hyperparameters, read_input_data_config
from mlops.contract.csv_format import label_size_of
from mlops.contract.data import LabeledData
from mlops.contract.failure import run_training
from mlops.contract.metrics import log_metric

CHANNELS = ("train", "validation", "test")

# ------------------------------------------------------------------------------------------- the data


def _channels(layout: Layout) -> dict[str, ChannelConfig]:
    channels = read_input_data_config(layout)
    if "train" not in channels:
        given = f"; the job has {', '.join(sorted(channels))}" if channels else ""
        raise AlgorithmError(f"channel 'train' is required but was not given{given}")
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        raise AlgorithmError(f"unknown channel(s) {unknown}; linear-learner takes train, validation and test")
    return channels


def _locate(layout: Layout, channel: ChannelConfig, row: int) -> tuple[str, int | None, str]:
    """(file, line, prefix) of the ``row``-th record of a channel, for error messages (slow path)."""
    csv = channel.base_content_type in ("text/csv", "csv")
    if channel.input_mode == "Pipe":
        return (
            layout.pipe_path(channel.name, 0).name,
            (row + 1 if csv else None),
            ("" if csv else f"record {row + 1}: "),
        )
    reader, offset = reader_for(channel.content_type), 0
    for path in channel_files(layout, channel.name):
        with open(path, "rb") as stream:
            rows = reader(stream, channel.name, path.name, label_size_of(channel.content_type)).rows
        if row < offset + rows:
            index = row - offset
            name = str(path.relative_to(layout.data_dir))
            return name, (index + 1 if csv else None), ("" if csv else f"record {index + 1}: ")
        offset += rows
    return str(layout.channel_dir(channel.name)), None, f"record {row + 1}: "


def _fail(layout: Layout, channel: ChannelConfig, rows: np.ndarray, message: str) -> ChannelDataError:
    file, line, prefix = _locate(layout, channel, int(rows[0]))
    more = f" ({rows.size} such rows)" if rows.size > 1 else ""
    return ChannelDataError(channel.name, file, prefix + message + more, line)


def _bad_feature_rows(X: Any) -> np.ndarray:
    if isinstance(X, np.ndarray):
        return np.flatnonzero(~np.isfinite(X).all(axis=1))
    bad_entries = np.flatnonzero(~np.isfinite(X.data))
    return np.unique(np.searchsorted(X.indptr, bad_entries, side="right") - 1)


def read_checked(layout: Layout, channel: ChannelConfig, settings: Settings) -> LabeledData:
    """Read a channel and refuse missing labels, non-finite features and labels the predictor cannot take."""
    data = read_channel(layout, channel)
    if data.y is None:
        raise ChannelDataError(
            channel.name, str(layout.channel_dir(channel.name)), "the records carry no label"
        )
    bad = _bad_feature_rows(data.X)
    if bad.size:
        raise _fail(
            layout, channel, bad, "missing or infinite feature value; linear-learner needs every feature"
        )
    y = data.y
    if settings.predictor_type == BINARY:
        wrong, allowed = (y != 0) & (y != 1), "0 or 1"
    elif settings.predictor_type == MULTICLASS:
        k = settings.num_classes
        wrong, allowed = (
            (y < 0) | (y >= k) | (y != np.floor(y)),
            f"an integer in [0, {k - 1}] (num_classes={k})",
        )
    else:
        wrong, allowed = ~np.isfinite(y), "a finite number"
    bad = np.flatnonzero(wrong)
    if bad.size:
        raise _fail(
            layout,
            channel,
            bad,
            f"label {y[bad[0]]:g} is not valid for predictor_type {settings.predictor_type}; "
            f"labels must be {allowed}",
        )
    return data


@dataclass(frozen=True)
class Normalization:
    """Feature shift and scale (x' = (x - shift) * scale) and the label's, from a sample of train."""

    feature_shift: np.ndarray
    feature_scale: np.ndarray
    label_shift: float
    label_scale: float
    sample_rows: int

    @classmethod
    def fit(cls, data: LabeledData, settings: Settings) -> Normalization:
        X, n = data.X, data.rows
        rng = np.random.default_rng(settings.seed)
        sample = np.sort(rng.choice(n, size=min(n, settings.num_point_for_scaler), replace=False))
        part = X[sample]
        dense = isinstance(X, np.ndarray)
        if dense:
            mean, var = part.mean(axis=0, dtype=np.float64), part.var(axis=0, dtype=np.float64)
        else:
            mean = np.asarray(part.mean(axis=0), dtype=np.float64).ravel()
            var = np.asarray(part.multiply(part).mean(axis=0), dtype=np.float64).ravel() - mean * mean
        std = np.sqrt(np.maximum(var, 0.0))
        # Sparse features are scaled only, never shifted (a shift would make them dense), as in SageMaker.
        shift = mean if settings.unbias_data and dense else np.zeros_like(mean)
        scale = (
            np.where(std > 1e-12, 1.0 / np.where(std > 1e-12, std, 1.0), 1.0)
            if settings.normalize_data
            else np.ones_like(mean)
        )
        label_shift, label_scale = 0.0, 1.0
        if settings.predictor_type == REGRESSOR and data.y is not None:
            labels = data.y[sample].astype(np.float64)
            label_shift = float(labels.mean()) if settings.unbias_label else 0.0
            spread = float(labels.std())
            label_scale = spread if settings.normalize_label and spread > 1e-12 else 1.0
        return cls(shift, scale, label_shift, label_scale, int(sample.size))

    def features(self, X: Any) -> Any:
        if isinstance(X, np.ndarray):
            return ((X - self.feature_shift) * self.feature_scale).astype(np.float32)
        if self.feature_shift.any():  # a dense train channel with sparse validation data: densify
            return self.features(X.toarray())
        return X.multiply(self.feature_scale.astype(np.float32)).tocsr().astype(np.float32)

    def labels(self, y: np.ndarray) -> np.ndarray:
        return ((y.astype(np.float64) - self.label_shift) / self.label_scale).astype(np.float32)


def _threads() -> int:
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, min(2, len(os.sched_getaffinity(0))))


# --------------------------------------------------------------------------------------- training


def _positive_weights(settings: Settings, y: np.ndarray) -> np.ndarray:
    positives = float(np.sum(y == 1))
    balanced = (y.size - positives) / positives if positives else 1.0
    return np.array([balanced if w is None else w for w in settings.grid.positive_weight], dtype=np.float32)


def _select(
    settings: Settings, trainer: Any, result: Any, data: Any, labels: np.ndarray
) -> tuple[int, float, dict[str, Any]]:
    """The chosen model, its threshold (binary) and how it was chosen."""
    alive = np.flatnonzero(np.isfinite(result.best_loss))
    by_loss = int(alive[np.argmin(result.best_loss[alive])])
    if settings.predictor_type != BINARY:
        return by_loss, 0.5, {"criterion": "loss_function", "value": float(result.best_loss[by_loss])}
    probability = settings.loss == "logistic"
    default = 0.5 if probability else 0.0
    if settings.selection_criteria == "loss_function":
        return by_loss, default, {"criterion": "loss_function", "value": float(result.best_loss[by_loss])}
    import torch

    rows = (
        data.rows
        if settings.num_calibration_samples is None
        else min(data.rows, settings.num_calibration_samples)
    )
    raw = trainer.scores(data, torch.from_numpy(result.weights), torch.from_numpy(result.bias), rows)[..., 0]
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw.astype(np.float64), -500, 500))) if probability else raw
    best: tuple[Any, ...] | None = None
    for m in alive:
        cal = choose_threshold(
            scores[:, m],
            labels[:rows],
            settings.selection_criteria,
            default=default,
            beta=settings.f_beta,
            target_recall=settings.target_recall,
            target_precision=settings.target_precision,
        )
        key = (cal.feasible, cal.value, -result.best_loss[m])
        if best is None or key > best[0]:
            best = (key, int(m), cal)
    assert best is not None
    _, m, cal = best
    if not cal.feasible:
        print(
            f"warning: no threshold reaches the target of {settings.selection_criteria}; "
            "the closest one is used",
            flush=True,
        )
    return (
        m,
        cal.threshold,
        {"criterion": settings.selection_criteria, "value": cal.value, "target_reached": cal.feasible},
    )


def _final_metrics(settings: Settings, model: LinearModel, data: LabeledData, loss: Any) -> dict[str, float]:
    raw = model.raw_scores(data.X)
    y = data.y
    assert y is not None
    metrics = {"objective_loss": loss.on_original(raw, y)}
    if settings.predictor_type == BINARY:
        metrics.update(binary_metrics(model.scores(data.X), y, model.threshold, settings.f_beta))
    elif settings.predictor_type == MULTICLASS:
        metrics.update(multiclass_metrics(model.scores(data.X), y, settings.accuracy_top_k, settings.f_beta))
    else:
        metrics.update(regression_metrics(raw[:, 0], y))
    return metrics


def load_data(layout: Layout, settings: Settings) -> dict[str, LabeledData]:
    """Every channel of the job, checked, with the same number of features as train."""
    channels = _channels(layout)
    data = {name: read_checked(layout, channels[name], settings) for name in CHANNELS if name in channels}
    width = data["train"].columns
    for name, part in data.items():
        if part.columns != width:
            raise ChannelDataError(
                name,
                str(layout.channel_dir(name)),
                f"has {part.columns} features but channel 'train' has {width}",
            )
    if settings.feature_dim is not None and settings.feature_dim != width:
        raise AlgorithmError(
            f"hyperparameter feature_dim is {settings.feature_dim} but the train channel has {width} features"
        )
    print(", ".join(f"{name}: {part.rows} rows" for name, part in data.items()) + f"; {width} features")
    return data


def _log_epoch(epoch: int, train_loss: float, validation_loss: float | None) -> None:
    log_metric("train:objective_loss", train_loss, step=epoch)
    if validation_loss is not None:
        log_metric("validation:objective_loss", validation_loss, step=epoch)


def train(layout: Layout) -> None:
    settings = resolve(read_hyperparameters(layout))
    data = load_data(layout, settings)  # bad data fails here, before torch is imported

    import torch
    from linear_learner_sgd import Data, Loss, class_weights, train_models

    torch.set_num_threads(_threads())
    norm = Normalization.fit(data["train"], settings)
    loss = Loss(settings, norm.label_shift, norm.label_scale, class_weights(settings, data["train"].y))
    prepared = {name: Data(norm.features(part.X), norm.labels(part.y)) for name, part in data.items()}
    monitor = prepared.get("validation")
    print(f"training {settings.num_models} model(s) with {settings.optimizer}, loss {settings.loss}")
    positive_weights = _positive_weights(settings, data["train"].y)
    trainer, result = train_models(settings, loss, prepared["train"], monitor, positive_weights, _log_epoch)

    selection_set = "validation" if monitor is not None else "train"
    m, threshold, selection = _select(
        settings, trainer, result, prepared[selection_set], data[selection_set].y
    )
    description = _describe(
        settings, norm, data["train"].columns, m, threshold, selection, selection_set, result
    )
    arrays = {
        "weights": result.weights[m],
        "bias": result.bias[m],
        "feature_shift": norm.feature_shift,
        "feature_scale": norm.feature_scale,
    }
    print(
        f"chosen model {m} of {settings.num_models}: {settings.grid.describe(m)}, best epoch "
        f"{int(result.best_epoch[m])}, {selection['criterion']} on {selection_set} = {selection['value']:.6g}"
        + (f", threshold {threshold:.6g}" if settings.predictor_type == BINARY else "")
    )
    model = LinearModel.from_arrays(description, arrays)  # final metrics come from what serving will use
    log_metric("train:objective_loss", loss.on_original(model.raw_scores(data["train"].X), data["train"].y))
    for name in ("validation", "test"):
        if name in data:
            for metric, value in _final_metrics(settings, model, data[name], loss).items():
                log_metric(f"{name}:{metric}", value)
    save(layout.model_dir, description, arrays)
    print(f"saved the model to {layout.model_dir.name}/")


def _describe(
    settings: Settings,
    norm: Normalization,
    width: int,
    m: int,
    threshold: float,
    selection: dict[str, Any],
    selection_set: str,
    result: Any,
) -> dict[str, Any]:
    description: dict[str, Any] = {
        "predictor_type": settings.predictor_type,
        "loss": settings.loss,
        "feature_dim": width,
        "label_normalization": {"shift": norm.label_shift, "scale": norm.label_scale},
        "feature_normalization": {
            "shifted": bool(norm.feature_shift.any()),
            "scaled": settings.normalize_data,
            "sample_rows": norm.sample_rows,
        },
        "num_models": settings.num_models,
        "epochs_run": int(result.epochs_run),
        "selected_model": {"index": m, "best_epoch": int(result.best_epoch[m]), **settings.grid.describe(m)},
        "selection": {**selection, "data": selection_set},
        "hyperparameters": settings.raw,
    }
    if settings.predictor_type == BINARY:
        description.update(
            score="probability" if settings.loss == "logistic" else "margin",
            threshold=threshold,
            classes=[0, 1],
        )
    elif settings.predictor_type == MULTICLASS:
        description.update(score="probability", classes=list(range(settings.num_classes)))
    else:
        description.update(score="value")
    return description


def main_train() -> int:
    return run_training(train)


# -------------------------------------------------------------------------------------- inference


class LinearLearnerHandler:
    """model_fn / input_fn / predict_fn / output_fn for the contract's model server (numpy only)."""

    def __init__(self) -> None:
        from mlops.contract.inference_spec import InferenceTypes

        self.types = InferenceTypes.load(Path(__file__).resolve().parent / "algorithm.json")
        self.default_accept = self.types.DefaultResponseMIMEType
        self.features: int | None = None  # the model's, once loaded: JSON instances are checked against it

    def model_fn(self, model_dir: Path) -> LinearModel:
        model = load(model_dir)
        self.features = model.feature_dim
        return model

    def input_fn(self, body: bytes, content_type: str) -> Any:
        from mlops.contract.payloads import decode_features

        return decode_features(body, content_type, self.features, self.types.SupportedContentTypes)

    def predict_fn(self, data: Any, model: LinearModel) -> list[dict[str, Any]]:
        if data.shape[0] == 0:
            raise AlgorithmError("the request holds no rows")
        if isinstance(data, np.ndarray) and not np.isfinite(data).all():
            raise AlgorithmError("the request has missing or infinite feature values")
        return model.records(data)

    def output_fn(self, prediction: list[dict[str, Any]], accept: str) -> tuple[bytes, str]:
        from mlops.contract.payloads import encode_predictions

        if accept.split(";")[0].strip().lower() in ("text/csv", "csv"):
            prediction = [
                {"predicted_label": r["predicted_label"]} if "predicted_label" in r else r for r in prediction
            ]
        return encode_predictions(prediction, accept, self.types.SupportedResponseMIMETypes)


def main_serve() -> int:
    from mlops.contract.serving import serve

    return serve(LinearLearnerHandler())
