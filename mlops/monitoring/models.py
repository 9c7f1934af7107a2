"""The model a monitor explains or scores: a ``predict`` over encoded rows and, for tree models, exact
per-feature contributions (xgboost's TreeSHAP). Loaded from a model.tar.gz the way the serving contract
does, never from a pickle: the xgboost algorithm's ``xgboost-model``, or the linear-learner's
``model.json`` + ``model.npz``, scored by that algorithm's own ``linear_learner_model`` (loaded from its
folder, so the monitors score exactly what the endpoint serves) and explained by the model-agnostic
permutation estimator. An archive of any other algorithm is refused with ``UnknownModelFormat``; a
baseline is then made without the model and says so."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mlops.core.errors import ValidationError

XGBOOST_MODEL_FILE = "xgboost-model"
LINEAR_LEARNER_FORMAT = "mlops-linear-learner"  # model.json's "format"
LINEAR_LEARNER_FOLDER = "linear-learner"
LINEAR_LEARNER_MODULE = "linear_learner_model"


class UnknownModelFormat(ValidationError):
    """A model archive no monitor can score: neither an xgboost nor a linear-learner model."""


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


class LinearLearnerModel:
    """A linear-learner model, scored by the algorithm's own code: P(positive) for a binary classifier
    (its raw margin with hinge loss), class probabilities for multiclass, the value for a regressor."""

    method = "permutation_shap"

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.scores(np.asarray(X, dtype=np.float32)), dtype=np.float64)


def _algorithm_module(folder: Path, module: str) -> ModuleType:
    """An algorithm's own module, loaded from its folder under a name of ours (it never shadows another)."""
    name = f"mlops_algorithm_{folder.name.replace('-', '_')}_{module}"
    if name in sys.modules:
        return sys.modules[name]
    path = folder / f"{module}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ValidationError("algorithms", f"{path} is missing: the linear-learner model cannot be scored")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def _linear_learner(tar: tarfile.TarFile, where: str, algorithms_dir: Path | None) -> LinearLearnerModel:
    if algorithms_dir is None:
        raise ValidationError(where, "a linear-learner model is scored by its algorithm's code: give its folder")
    module = _algorithm_module(algorithms_dir / LINEAR_LEARNER_FOLDER, LINEAR_LEARNER_MODULE)
    with tempfile.TemporaryDirectory(prefix="mlops-model-") as tmp:
        for member in tar.getmembers():
            if member.isfile() and Path(member.name).name in ("model.json", "model.npz"):
                handle = tar.extractfile(member)
                assert handle is not None
                (Path(tmp) / Path(member.name).name).write_bytes(handle.read())
        try:
            return LinearLearnerModel(module.load(Path(tmp)))
        except Exception as e:  # the algorithm's own AlgorithmError and numpy's format errors
            raise ValidationError(where, f"not a readable linear-learner model: {e}") from None


def _is_linear_learner(tar: tarfile.TarFile) -> bool:
    member = next((m for m in tar.getmembers() if Path(m.name).name == "model.json" and m.isfile()), None)
    if member is None:
        return False
    handle = tar.extractfile(member)
    try:
        return bool(handle and json.loads(handle.read()).get("format") == LINEAR_LEARNER_FORMAT)
    except (ValueError, AttributeError):
        return False


def load_model_bytes(data: bytes, where: str, algorithms_dir: Path | None = None) -> MonitoredModel:
    """A model from a model.tar.gz (or a bare xgboost model file). ``algorithms_dir``: the algorithm
    folders, whose code scores a linear-learner model."""
    if data[:2] == b"\x1f\x8b":
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                names = tar.getnames()
                member = next((m for m in tar.getmembers() if Path(m.name).name == XGBOOST_MODEL_FILE), None)
                if member is None:
                    if _is_linear_learner(tar):
                        return _linear_learner(tar, where, algorithms_dir)
                    raise UnknownModelFormat(
                        where,
                        f"neither an xgboost model ({XGBOOST_MODEL_FILE}) nor a linear-learner model (model.json) "
                        f"in the archive (holds {', '.join(names[:10]) or 'nothing'}); the monitors score and "
                        "explain the built-in algorithms' models, and any other through a Python predict "
                        "function (FunctionModel)",
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


def load_model(path: Path, algorithms_dir: Path | None = None) -> MonitoredModel:
    if not path.is_file():
        raise ValidationError("--model", f"{path} is not a file")
    return load_model_bytes(path.read_bytes(), str(path), algorithms_dir)


def positive_scores(scores: np.ndarray) -> np.ndarray:
    """The score the attribution and bias monitors follow: P(class 1) for binary, max class probability
    for multiclass, the value for regression."""
    return scores.max(axis=1) if scores.ndim == 2 else scores
