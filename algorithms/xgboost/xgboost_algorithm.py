"""SageMaker-style XGBoost: training and inference on the container contract.

Training reads the ``train`` (required) and ``validation`` channels in any supported content type,
File or Pipe mode, trains with SageMaker XGBoost's hyperparameter names, logs every round's
``train:*`` / ``validation:*`` metrics as ``#metric`` lines with ``step=<round>`` and saves the model
in XGBoost's own binary format (UBJSON) as ``/opt/ml/model/xgboost-model``: never pickle.

Inference answers CSV, JSON, JSON Lines, libsvm and recordio-protobuf payloads with ``score``
values (a probability for binary:logistic, a list of probabilities for multi:softprob).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from mlops.contract import AlgorithmError, Layout
from mlops.contract.channels import read_channel
from mlops.contract.config import HyperParameters, read_hyperparameters, read_input_data_config
from mlops.contract.data import LabeledData
from mlops.contract.failure import run_training
from mlops.contract.inference_spec import InferenceTypes
from mlops.contract.metrics import log_metric

MODEL_FILE = "xgboost-model"

# SageMaker's hyperparameter name -> XGBoost's parameter name, where they differ.
_RENAMES = {"lambda": "reg_lambda", "alpha": "reg_alpha"}
_FLOAT = (
    "eta",
    "gamma",
    "min_child_weight",
    "subsample",
    "colsample_bytree",
    "colsample_bylevel",
    "alpha",
    "lambda",
    "max_delta_step",
    "scale_pos_weight",
    "base_score",
)
_INT = ("max_depth", "num_class", "max_bin", "seed", "nthread")


def default_metrics(objective: str) -> list[str]:
    if objective.startswith("binary:"):
        return ["logloss", "error", "auc"]
    if objective.startswith("multi:"):
        return ["mlogloss", "merror"]
    return ["rmse", "mae"]


def booster_params(hp: HyperParameters) -> dict[str, Any]:
    objective = hp.str("objective", "reg:squarederror") or "reg:squarederror"
    params: dict[str, Any] = {"objective": objective, "verbosity": 1}
    for name in _FLOAT:
        value = hp.float(name)
        if value is not None:
            params[_RENAMES.get(name, name)] = value
    for name in _INT:
        value = hp.int(name)
        if value is not None:
            params[name] = value
    params["tree_method"] = hp.str("tree_method", "auto")
    if params["tree_method"] == "auto":
        params["tree_method"] = "hist"
    params.setdefault("seed", 0)
    params.setdefault("nthread", os.cpu_count() or 1)
    metrics = hp.str("eval_metric")
    params["eval_metric"] = (
        [m.strip() for m in metrics.split(",") if m.strip()] if metrics else default_metrics(objective)
    )
    if objective.startswith("multi:") and "num_class" not in params:
        raise AlgorithmError("hyperparameter num_class is required for objective " + objective)
    return params


def _check_labels(data: LabeledData, params: dict[str, Any], channel: str) -> None:
    assert data.y is not None
    objective = params["objective"]
    y = data.y
    bad: np.ndarray | None = None
    if objective in ("binary:logistic", "binary:logitraw", "binary:hinge"):
        bad = np.flatnonzero((y != 0) & (y != 1))
        allowed = "0 or 1"
    elif objective.startswith("multi:"):
        k = params["num_class"]
        bad = np.flatnonzero((y < 0) | (y >= k) | (y != np.floor(y)))
        allowed = f"an integer in [0, {k - 1}]"
    elif objective == "reg:logistic":
        bad = np.flatnonzero((y < 0) | (y > 1))
        allowed = "in [0, 1]"
    if bad is not None and bad.size:
        row = int(bad[0]) + 1
        raise AlgorithmError(
            f"channel {channel!r}: label {y[bad[0]]:g} at row {row} is not valid for objective {objective}; "
            f"labels must be {allowed} ({bad.size} bad rows)"
        )


class _MetricLogger(xgb.callback.TrainingCallback):
    """Writes each round's evaluation results as ``#metric <set>:<metric>=<value> step=<round>``."""

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[float]]]) -> bool:
        for data_name, metrics in evals_log.items():
            for metric, values in metrics.items():
                log_metric(f"{data_name}:{metric}", float(values[-1]), step=epoch)
        return False


def train(layout: Layout) -> None:
    hp = HyperParameters(read_hyperparameters(layout))
    channels = read_input_data_config(layout)
    if "train" not in channels:
        raise AlgorithmError("channel 'train' is required but was not given")
    unknown = set(channels) - {"train", "validation"}
    if unknown:
        raise AlgorithmError(f"unknown channel(s) {sorted(unknown)}; xgboost takes 'train' and 'validation'")
    num_round = hp.int("num_round")
    if num_round is None:
        raise AlgorithmError("hyperparameter num_round is required")
    params = booster_params(hp)
    train_data = read_channel(layout, channels["train"])
    _check_labels(train_data, params, "train")
    dtrain = xgb.DMatrix(train_data.X, label=train_data.y, missing=np.nan, nthread=params["nthread"])
    evals = [(dtrain, "train")]
    print(f"train: {train_data.rows} rows x {train_data.columns} features", flush=True)
    if "validation" in channels:
        valid = read_channel(layout, channels["validation"])
        _check_labels(valid, params, "validation")
        if valid.columns != train_data.columns:
            raise AlgorithmError(
                f"channel 'validation' has {valid.columns} features but 'train' has {train_data.columns}"
            )
        evals.append((xgb.DMatrix(valid.X, label=valid.y, missing=np.nan, nthread=params["nthread"]), "validation"))
        print(f"validation: {valid.rows} rows", flush=True)
    early = hp.int("early_stopping_rounds")
    if early is not None and len(evals) < 2:
        raise AlgorithmError("early_stopping_rounds needs a 'validation' channel")
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=num_round,
        evals=evals,
        verbose_eval=False,
        early_stopping_rounds=early,
        callbacks=[_MetricLogger()],
    )
    layout.model_dir.mkdir(parents=True, exist_ok=True)
    (layout.model_dir / MODEL_FILE).write_bytes(bytes(booster.save_raw("ubj")))
    print(f"saved {MODEL_FILE} ({booster.num_boosted_rounds()} rounds)", flush=True)


def main_train() -> int:
    return run_training(train)


class XGBoostHandler:
    """model_fn / input_fn / predict_fn / output_fn for the contract's model server. The request and
    answer types, and the answer type without an Accept header, are algorithm.json's."""

    def __init__(self) -> None:
        self.types = InferenceTypes.load(Path(__file__).resolve().parent / "algorithm.json")
        self.default_accept = self.types.DefaultResponseMIMEType
        self.features: int | None = None  # the model's, once loaded: JSON instances are checked against it

    def model_fn(self, model_dir: Path) -> xgb.Booster:
        path = model_dir / MODEL_FILE
        if not path.exists():
            raise AlgorithmError(f"{MODEL_FILE} not found in the model folder")
        booster = xgb.Booster()
        booster.load_model(bytearray(path.read_bytes()))
        booster.set_param({"nthread": 1})  # one thread per worker: see NOTES on serving
        self.features = booster.num_features()
        return booster

    def input_fn(self, body: bytes, content_type: str) -> Any:
        from mlops.contract.payloads import decode_features

        return decode_features(body, content_type, self.features, self.types.SupportedContentTypes)

    def predict_fn(self, data: Any, model: xgb.Booster) -> np.ndarray:
        if data.shape[0] == 0:
            raise AlgorithmError("the request holds no rows")
        expected = model.num_features()
        if isinstance(data, np.ndarray):
            if data.shape[1] != expected:
                raise AlgorithmError(f"each row needs {expected} features; got {data.shape[1]}")
            return np.asarray(model.inplace_predict(data, validate_features=False))
        if data.shape[1] > expected:  # sparse rows are as wide as their highest index: widen, never cut
            raise AlgorithmError(f"each row has at most {expected} features; got index {data.shape[1] - 1}")
        data.resize((data.shape[0], expected))
        return np.asarray(model.predict(xgb.DMatrix(data), validate_features=False))

    def output_fn(self, prediction: np.ndarray, accept: str) -> tuple[bytes, str]:
        from mlops.contract.payloads import encode_predictions

        if prediction.ndim == 2:
            records = [{"score": [float(v) for v in row]} for row in prediction]
        else:
            records = [{"score": float(v)} for v in prediction]
        return encode_predictions(records, accept, self.types.SupportedResponseMIMETypes)


def main_serve() -> int:
    from mlops.contract.serving import serve

    return serve(XGBoostHandler())
