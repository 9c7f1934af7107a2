"""Linear learner's hyperparameters: checked against this folder's algorithm.json, then resolved.

algorithm.json is the one source of names, types, ranges and defaults: this module reads it with the
standard library (the image has no pydantic), applies the same checks as the platform's
``validate_hyperparameters`` and then resolves what depends on other values (the loss for a predictor
type, ``auto`` defaults, the grid of parallel models). Booleans are accepted in any case ("True" is
what SageMaker's Python SDK sends).

Our resolution of SageMaker's ``auto`` values (SageMaker does not publish its own):

- ``optimizer`` auto = adam; ``learning_rate`` auto = 0.01 (adam, rmsprop), 0.01 with momentum 0.9
  (sgd), 0.1 (adagrad); ``beta_1``/``beta_2`` auto = 0.9/0.999; ``momentum`` auto = 0.9 (sgd only).
- ``bias_lr_mult`` auto = 1, ``bias_wd_mult`` auto = 0 (no regularisation of the bias, as documented).
- learning-rate schedule (linear_learner_sgd.Schedule): with ``lr_scheduler_step`` or
  ``lr_scheduler_factor`` given, a step schedule (auto step: one epoch; auto factor: a tenth by the last
  epoch); with both auto, each model's rate is halved every epoch once its monitored loss has not
  improved for two epochs; ``lr_scheduler_minimum_lr`` auto = a hundredth of the initial rate.
- ``num_models`` auto = up to 32 models on a grid over every ``auto`` among learning_rate (the default
  times 1, 0.3, 3, 0.1, 10), wd (0, 1e-4, 1e-3, 1e-2), l1 (0, 1e-4, 1e-3) and
  positive_example_weight_mult (1, balanced); model 0 holds the first of each, and the grid is walked
  from the least regularised settings outwards, every learning rate for each. 1 model when nothing is
  ``auto`` or when the job belongs to a tuning job (``_tuning_objective_metric`` is set), as in
  SageMaker. A number of models beyond the grid's size repeats the grid with other initial weights.
- ``seed`` (ours, default 0) fixes initialisation, shuffling and the scaler sample: a seeded job on the
  same machine writes a byte-identical model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from mlops.contract import AlgorithmError

SPEC_FILE = Path(__file__).resolve().parent / "algorithm.json"

BINARY, MULTICLASS, REGRESSOR = "binary_classifier", "multiclass_classifier", "regressor"
LOSSES = {
    BINARY: ("logistic", "hinge_loss"),
    MULTICLASS: ("softmax_loss",),
    REGRESSOR: (
        "squared_loss",
        "absolute_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
        "huber_loss",
    ),
}
CRITERIA_ALIASES = {"f1": "f_beta", "cross_entropy_loss": "loss_function"}
BASE_LEARNING_RATE = {"adam": 0.01, "rmsprop": 0.01, "sgd": 0.01, "adagrad": 0.1}

# The grid explored for "auto" values; model 0 takes the first entry of each.
LR_FACTORS = (1.0, 0.3, 3.0, 0.1, 10.0)
WD_GRID = (0.0, 1e-4, 1e-3, 1e-2)
L1_GRID = (0.0, 1e-4, 1e-3)
MAX_AUTO_MODELS = 32
IGNORED_PREFIXES = ("_", "sagemaker_")  # set by SageMaker itself, e.g. _tuning_objective_metric


def load_spec() -> dict[str, dict[str, Any]]:
    """The SupportedHyperParameters of algorithm.json, by name."""
    spec = json.loads(SPEC_FILE.read_text())
    return {hp["Name"]: hp for hp in spec["TrainingSpecification"]["SupportedHyperParameters"]}


def _describe(hp: dict[str, Any]) -> str:
    r = hp.get("Range") or {}
    if "CategoricalParameterRangeSpecification" in r:
        text = "one of " + ", ".join(r["CategoricalParameterRangeSpecification"]["Values"])
    else:
        numeric = r.get("IntegerParameterRangeSpecification") or r.get(
            "ContinuousParameterRangeSpecification"
        )
        kind = "an integer" if hp["Type"] == "Integer" else "a number"
        text = f"{kind} in [{numeric['MinValue']}, {numeric['MaxValue']}]" if numeric else kind
    special = hp.get("SpecialValues") or []
    return text + (" or " + ", ".join(repr(v) for v in special) if special else "")


def check_value(hp: dict[str, Any], value: str) -> None:
    """The platform's per-value check (mlops.core.algorithm), repeated here with the standard library."""
    where = f"hyperparameter {hp['Name']}: {value!r}"
    if value in (hp.get("SpecialValues") or []):
        return
    r = hp.get("Range") or {}
    if hp["Type"] == "Categorical":
        allowed = r.get("CategoricalParameterRangeSpecification", {}).get("Values")
        if allowed is not None and value not in allowed:
            raise AlgorithmError(f"{where} is not allowed; valid: {_describe(hp)}")
        return
    try:
        number = float(int(value)) if hp["Type"] == "Integer" else float(value)
    except ValueError:
        raise AlgorithmError(f"{where} is not valid; valid: {_describe(hp)}") from None
    if math.isnan(number):
        raise AlgorithmError(f"{where} is not valid; valid: {_describe(hp)}")
    numeric = r.get("IntegerParameterRangeSpecification") or r.get("ContinuousParameterRangeSpecification")
    if numeric and not float(numeric["MinValue"]) <= number <= float(numeric["MaxValue"]):
        raise AlgorithmError(f"{where} is out of range; valid: {_describe(hp)}")


def with_defaults(given: dict[str, str]) -> dict[str, str]:
    """Check every given value, refuse unknown names, fill defaults. Returns strings, as given."""
    spec = load_spec()
    values: dict[str, str] = {}
    for name, value in given.items():
        if name.startswith(IGNORED_PREFIXES):
            continue
        if name not in spec:
            raise AlgorithmError(
                f"hyperparameter {name} is unknown to linear-learner; known: {', '.join(sorted(spec))}"
            )
        value = value.strip()
        if spec[name]["Type"] == "Categorical" and value.lower() in ("true", "false"):
            value = value.lower()
        check_value(spec[name], value)
        values[name] = value
    for name, hp in spec.items():
        if name in values:
            continue
        if hp.get("IsRequired"):
            raise AlgorithmError(f"hyperparameter {name} is required; valid: {_describe(hp)}")
        if hp.get("DefaultValue") is not None:
            values[name] = hp["DefaultValue"]
    return values


def _auto_float(values: dict[str, str], name: str) -> float | None:
    return None if values.get(name, "auto") == "auto" else float(values[name])


def _auto_int(values: dict[str, str], name: str) -> int | None:
    return None if values.get(name, "auto") == "auto" else int(values[name])


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


@dataclass(frozen=True)
class ModelGrid:
    """One entry per parallel model. ``positive_weight`` None means "balanced" (set from the data)."""

    learning_rate: tuple[float, ...]
    wd: tuple[float, ...]
    l1: tuple[float, ...]
    positive_weight: tuple[float | None, ...]

    def __len__(self) -> int:
        return len(self.learning_rate)

    def describe(self, m: int) -> dict[str, Any]:
        pw = self.positive_weight[m]
        return {
            "learning_rate": self.learning_rate[m],
            "wd": self.wd[m],
            "l1": self.l1[m],
            "positive_example_weight_mult": "balanced" if pw is None else pw,
        }


@dataclass(frozen=True)
class Settings:
    """Every hyperparameter, typed and resolved."""

    predictor_type: str
    num_classes: int  # 1 for binary and regression (one output column), else the class count
    loss: str
    feature_dim: int | None
    epochs: int
    mini_batch_size: int
    optimizer: str
    momentum: float
    beta_1: float
    beta_2: float
    bias_lr_mult: float
    bias_wd_mult: float
    use_bias: bool
    use_lr_scheduler: bool
    lr_scheduler_step: int | None  # None: one epoch
    lr_scheduler_factor: float | None  # None: a tenth by the last epoch
    lr_scheduler_minimum_lr: float | None
    init_method: str
    init_scale: float
    init_sigma: float
    init_bias: float
    normalize_data: bool
    unbias_data: bool
    normalize_label: bool
    unbias_label: bool
    num_point_for_scaler: int
    margin: float
    quantile: float
    loss_insensitivity: float
    huber_delta: float
    balance_multiclass_weights: bool
    early_stopping_patience: int
    early_stopping_tolerance: float
    selection_criteria: str
    target_recall: float
    target_precision: float
    f_beta: float
    accuracy_top_k: int
    num_calibration_samples: int | None
    seed: int
    grid: ModelGrid
    raw: dict[str, str]

    @property
    def outputs(self) -> int:
        return self.num_classes if self.predictor_type == MULTICLASS else 1

    @property
    def num_models(self) -> int:
        return len(self.grid)


def _tristate(values: dict[str, str], name: str, auto: bool) -> bool:
    value = values[name]
    return auto if value == "auto" else value == "true"


def _grid(values: dict[str, str], optimizer: str, predictor: str, tuning: bool) -> ModelGrid:
    lr = _auto_float(values, "learning_rate")
    wd = _auto_float(values, "wd")
    l1 = _auto_float(values, "l1")
    pw_text = values["positive_example_weight_mult"]
    base = BASE_LEARNING_RATE[optimizer]
    axes: list[tuple[Any, ...]] = [
        (lr,) if lr is not None else tuple(base * f for f in LR_FACTORS),
        (wd,) if wd is not None else WD_GRID,
        (l1,) if l1 is not None else L1_GRID,
    ]
    if predictor != BINARY:
        axes.append((1.0,))
    elif pw_text == "auto":
        axes.append((1.0, None))
    else:
        axes.append((None,) if pw_text == "balanced" else (float(pw_text),))
    # Regularisation nearest to the defaults first, each with every learning rate: order the grid by the
    # sum of the positions along the other axes, then by the position along the learning rates.
    cells = sorted(product(*(range(len(a)) for a in axes)), key=lambda c: (sum(c[1:]), c[1:], c[0]))
    combos = [tuple(axes[i][j] for i, j in enumerate(cell)) for cell in cells]
    requested = _auto_int(values, "num_models")
    if tuning:
        count = 1
    elif requested is None:
        count = min(MAX_AUTO_MODELS, len(combos))
    else:
        count = requested
    chosen = [combos[m % len(combos)] for m in range(count)]
    return ModelGrid(*(tuple(c[i] for c in chosen) for i in range(4)))  # type: ignore[arg-type]


def resolve(given: dict[str, str]) -> Settings:
    """Turn the job's hyperparameter strings into Settings, or raise AlgorithmError saying what is wrong."""
    values = with_defaults(given)
    predictor = values["predictor_type"]
    num_classes = 1
    if predictor == MULTICLASS:
        if "num_classes" not in values:
            raise AlgorithmError(
                "hyperparameter num_classes is required when predictor_type is multiclass_classifier"
            )
        num_classes = int(values["num_classes"])
    loss = values["loss"]
    if loss == "auto":
        loss = LOSSES[predictor][0]
    elif loss not in LOSSES[predictor]:
        raise AlgorithmError(
            f"hyperparameter loss: {loss!r} does not apply to predictor_type {predictor}; "
            f"valid: auto, {', '.join(LOSSES[predictor])}"
        )
    optimizer = "adam" if values["optimizer"] == "auto" else values["optimizer"]
    use_bias = values["use_bias"] == "true"
    regression = predictor == REGRESSOR
    criteria = values["binary_classifier_model_selection_criteria"]
    momentum = _auto_float(values, "momentum")
    calibration = _auto_int(values, "num_calibration_samples")
    quantile = float(values["quantile"])
    if not 0.0 < quantile < 1.0:
        raise AlgorithmError(f"hyperparameter quantile: {quantile} must be strictly between 0 and 1")
    return Settings(
        predictor_type=predictor,
        num_classes=num_classes,
        loss=loss,
        feature_dim=_auto_int(values, "feature_dim"),
        epochs=int(values["epochs"]),
        mini_batch_size=int(values["mini_batch_size"]),
        optimizer=optimizer,
        momentum=_or(momentum, 0.9 if optimizer == "sgd" else 0.0),
        beta_1=_or(_auto_float(values, "beta_1"), 0.9),
        beta_2=_or(_auto_float(values, "beta_2"), 0.999),
        bias_lr_mult=_or(_auto_float(values, "bias_lr_mult"), 1.0),
        bias_wd_mult=_or(_auto_float(values, "bias_wd_mult"), 0.0),
        use_bias=use_bias,
        use_lr_scheduler=values["use_lr_scheduler"] == "true",
        lr_scheduler_step=_auto_int(values, "lr_scheduler_step"),
        lr_scheduler_factor=_auto_float(values, "lr_scheduler_factor"),
        lr_scheduler_minimum_lr=_auto_float(values, "lr_scheduler_minimum_lr"),
        init_method=values["init_method"],
        init_scale=float(values["init_scale"]),
        init_sigma=float(values["init_sigma"]),
        init_bias=float(values["init_bias"]),
        normalize_data=values["normalize_data"] != "false",
        unbias_data=_tristate(values, "unbias_data", use_bias),
        normalize_label=regression and _tristate(values, "normalize_label", True),
        unbias_label=regression and _tristate(values, "unbias_label", use_bias),
        num_point_for_scaler=int(values["num_point_for_scaler"]),
        margin=float(values["margin"]),
        quantile=quantile,
        loss_insensitivity=float(values["loss_insensitivity"]),
        huber_delta=float(values["huber_delta"]),
        balance_multiclass_weights=values["balance_multiclass_weights"] == "true",
        early_stopping_patience=int(values["early_stopping_patience"]),
        early_stopping_tolerance=float(values["early_stopping_tolerance"]),
        selection_criteria=CRITERIA_ALIASES.get(criteria, criteria),
        target_recall=float(values["target_recall"]),
        target_precision=float(values["target_precision"]),
        f_beta=float(values["f_beta"]),
        accuracy_top_k=int(values["accuracy_top_k"]),
        num_calibration_samples=calibration,
        seed=int(values["seed"]),
        grid=_grid(values, optimizer, predictor, tuning="_tuning_objective_metric" in given),
        raw=values,
    )
