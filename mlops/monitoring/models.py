"""The model a monitor explains or scores: a ``predict`` over encoded rows and, for tree models, exact
per-feature contributions (xgboost's TreeSHAP). Loaded from a model.tar.gz the way the serving contract
does (the xgboost algorithm's ``xgboost-model``, never a pickle)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from mlops.core.errors import ValidationError

XGBOOST_MODEL_FILE = "xgboost-model"


@runtime_checkable
class MonitoredModel(Protocol):
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Scores for encoded float32 rows: P(positive class) for binary, class probabilities (n, k) for
        multiclass, the value for regression."""
        ...


@runtime_checkable
class TreeModel(MonitoredModel, Protocol):
    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Exact SHAP values (n, features) in the model's margin space, without the bias column."""
        ...


class XGBoostModel:
    """An xgboost Booster: ``predict`` as the server does, ``contributions`` by ``pred_contribs=True``."""

    method = "tree_shap"

    def __init__(self, booster: object, nthread: int = 1) -> None:
        import xgboost as xgb

        assert isinstance(booster, xgb.Booster)
        self.booster = booster
        self.booster.set_param({"nthread": nthread})

    @classmethod
    def from_bytes(cls, data: bytes) -> XGBoostModel:
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(bytearray(data))
        return cls(booster)

    @property
    def num_features(self) -> int:
        return int(self.booster.num_features())

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.inplace_predict(np.asarray(X, dtype=np.float32), validate_features=False))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        import xgboost as xgb

        values = np.asarray(
            self.booster.predict(
                xgb.DMatrix(np.asarray(X, dtype=np.float32)), pred_contribs=True, validate_features=False
            )
        )
        if values.ndim == 3:  # multiclass: (n, classes, features + 1): explain the sum of |class margins|
            return np.asarray(np.abs(values[:, :, :-1]).sum(axis=1))
        return values[:, :-1]


class FunctionModel:
    """Any Python predict function; explained by the model-agnostic permutation estimator."""

    method = "permutation_shap"

    def __init__(self, predict: Callable[[np.ndarray], np.ndarray]) -> None:
        self._predict = predict

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self._predict(np.asarray(X, dtype=np.float32)))


def load_model_bytes(data: bytes, where: str) -> MonitoredModel:
    """A model from a model.tar.gz (or a bare xgboost model file)."""
    if data[:2] == b"\x1f\x8b":
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                names = tar.getnames()
                member = next((m for m in tar.getmembers() if Path(m.name).name == XGBOOST_MODEL_FILE), None)
                if member is None:
                    raise ValidationError(
                        where,
                        f"no {XGBOOST_MODEL_FILE} in the archive (holds {', '.join(names[:10]) or 'nothing'}); "
                        "the attribution monitor explains xgboost models exactly, and other models through "
                        "a Python predict function (FunctionModel)",
                    )
                handle = tar.extractfile(member)
                assert handle is not None
                data = handle.read()
        except tarfile.TarError as e:
            raise ValidationError(where, f"not a readable model.tar.gz: {e}") from None
    try:
        return XGBoostModel.from_bytes(data)
    except Exception as e:  # xgboost raises its own XGBoostError for anything it cannot read
        raise ValidationError(where, f"not an xgboost model: {str(e).splitlines()[0][:200]}") from None


def load_model(path: Path) -> MonitoredModel:
    if not path.is_file():
        raise ValidationError("--model", f"{path} is not a file")
    return load_model_bytes(path.read_bytes(), str(path))


def positive_scores(scores: np.ndarray) -> np.ndarray:
    """The score the attribution and bias monitors follow: P(class 1) for binary, max class probability
    for multiclass, the value for regression."""
    return scores.max(axis=1) if scores.ndim == 2 else scores
