"""What a pipeline run is asked to do, checked before anything runs.

The trigger form's values (Airflow Params) become typed, frozen requests here. Every check names the
form field it refuses, so a bad run fails at its first task with a message a user can act on, and
nothing is ingested, trained or deployed. No Airflow import: the DAG's first task calls these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops.core.errors import MlopsError, NotFoundError, ValidationError
from mlops.core.ids import check_name
from mlops.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_PREFIX = "bundled:"
BUNDLED_DATASETS = ("churn",)
TUNING_STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband", "none")
DEPLOYMENT_STRATEGIES = ("canary", "linear", "all-at-once")
# The Airflow pool that bounds parallel training; its size is the most training jobs a run may ask for.
TRAINING_POOL = "mlops_training"
TRAINING_POOL_SLOTS = 2


@dataclass(frozen=True)
class SearchDefaults:
    """How the pipeline tunes an algorithm when the form only names it."""

    static: dict[str, str]
    ranges: dict[str, str]  # NAME -> MIN:MAX[:int][:log] or A,B,C (the CLI's --range syntax)
    single: dict[str, str]  # the hyperparameters of a run without tuning (tuning strategy "none")


SEARCH: dict[str, SearchDefaults] = {
    "xgboost": SearchDefaults(
        static={"num_round": "100", "early_stopping_rounds": "10", "nthread": "1"},
        ranges={"eta": "0.05:0.5:log", "max_depth": "3:8:int", "min_child_weight": "1:10", "subsample": "0.6:1.0"},
        single={"eta": "0.2", "max_depth": "5", "subsample": "0.9"},
    ),
    "linear-learner": SearchDefaults(
        static={"epochs": "6", "num_models": "4"},
        ranges={"learning_rate": "0.001:0.5:log", "wd": "0.000001:0.01:log", "mini_batch_size": "100:1000:int"},
        single={"mini_batch_size": "500"},
    ),
}


@dataclass(frozen=True)
class DeploymentRequest:
    endpoint_name: str
    environment: str
    strategy: str
    canary_size: str = "10%"
    linear_step: str = "20%"
    bake_seconds: int = 10
    instances: int = 1
    alarms: tuple[str, ...] = ()
    smoke_requests: int = 300

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "alarms": list(self.alarms)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeploymentRequest:
        return cls(**{**data, "alarms": tuple(data.get("alarms") or ())})


@dataclass(frozen=True)
class TrainingRequest:
    dataset_name: str
    dataset_source: str
    bundled_rows: int
    split_train: float
    split_validation: float
    split_test: float
    split_seed: int
    algorithm: str
    tuning_strategy: str
    max_jobs: int
    max_parallel: int
    objective: str | None
    model_group: str
    policy_file: str
    deployment: DeploymentRequest
    static_hyperparameters: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["deployment"] = self.deployment.as_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingRequest:
        return cls(**{**data, "deployment": DeploymentRequest.from_dict(data["deployment"])})

    @property
    def tuned(self) -> bool:
        return self.tuning_strategy != "none"


# --------------------------------------------------------------------------------------------- checks


def _get(params: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = params.get(name, default)
    return default if value is None else value


def _int(params: Mapping[str, Any], name: str, default: int, low: int, high: int | None = None) -> int:
    raw = _get(params, name, default)
    try:
        value = int(raw)
        if isinstance(raw, float) and raw != value:
            raise ValueError
    except (TypeError, ValueError):
        raise ValidationError(name, f"{raw!r} is not an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError(name, f"{value} must be {bound}")
    return value


def _ratio(params: Mapping[str, Any], name: str, default: float) -> float:
    raw = _get(params, name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValidationError(name, f"{raw!r} is not a number") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ValidationError(name, f"{value:g} must be a share between 0 and 1")
    return value


def _name(params: Mapping[str, Any], name: str, default: str) -> str:
    value = str(_get(params, name, default)).strip()
    try:
        return check_name(name, value)
    except ValidationError as e:
        raise ValidationError(name, e.message) from None


def check_split(train: float, validation: float, test: float) -> None:
    total = train + validation + test
    if abs(total - 1.0) > 1e-6:
        raise ValidationError(
            "split_train/split_validation/split_test",
            f"the shares {train:g} + {validation:g} + {test:g} add up to {total:g}, not 1",
        )
    if train <= 0:
        raise ValidationError("split_train", "the training share must be above 0")
    if validation <= 0:
        raise ValidationError("split_validation", "tuning scores candidates on the validation split: give it a share")
    if test <= 0:
        raise ValidationError("split_test", "evaluation scores the model on the test split: give it a share")


def check_algorithm(settings: Settings, algorithm: str) -> None:
    from mlops.algorithms.catalog import AlgorithmCatalog

    catalog = AlgorithmCatalog(settings.algorithms_dir)
    try:
        catalog.folder(algorithm)
    except NotFoundError:
        known = ", ".join(catalog.names()) or "none"
        raise ValidationError(
            "algorithm", f"{algorithm!r} is not an algorithm of the catalog; known: {known}"
        ) from None
    if algorithm not in SEARCH:
        raise ValidationError(
            "algorithm", f"the pipeline has no search space for {algorithm!r}; it tunes: {', '.join(sorted(SEARCH))}"
        )


def resolve_policy_file(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else REPO_ROOT / candidate


def check_deployment(params: Mapping[str, Any]) -> DeploymentRequest:
    """The deployment half of the form, checked as the endpoint will apply it (SageMaker's rules)."""
    from mlops.deploy.alarms import load_alarms
    from mlops.deploy.strategies import plan_steps
    from mlops.services.hosting import default_alarms_file, deployment_config

    strategy = str(_get(params, "deployment_strategy", "canary")).strip().lower()
    if strategy not in DEPLOYMENT_STRATEGIES:
        raise ValidationError(
            "deployment_strategy", f"{strategy!r} is not a strategy; use one of {', '.join(DEPLOYMENT_STRATEGIES)}"
        )
    request = DeploymentRequest(
        endpoint_name=_name(params, "endpoint_name", "churn-staging"),
        environment=str(_get(params, "environment", "staging")).strip(),
        strategy=strategy,
        canary_size=str(_get(params, "canary_size", "10%")).strip(),
        linear_step=str(_get(params, "linear_step", "20%")).strip(),
        bake_seconds=_int(params, "bake_seconds", 10, 0, 3600),
        instances=_int(params, "instances", 1, 1, 8),
        alarms=tuple(str(a).strip() for a in (_get(params, "alarms", []) or []) if str(a).strip()),
        smoke_requests=_int(params, "smoke_requests", 300, 0, 100_000),
    )
    try:
        config = deployment_config(
            request.strategy, request.canary_size, request.linear_step, request.bake_seconds, alarms=request.alarms
        )
        plan_steps(config, request.instances)  # refuses a canary or step the endpoint's fleet cannot take
    except ValidationError as e:
        field_name = {"--canary-size": "canary_size", "CanarySize": "canary_size", "--linear-step": "linear_step"}
        name = field_name.get(e.field, "linear_step" if "Linear" in e.field else "deployment_strategy")
        raise ValidationError(name, f"{request.strategy} on {request.instances} instance(s): {e.message}") from None
    if request.alarms:
        known = set(load_alarms(default_alarms_file()))
        unknown = [a for a in request.alarms if a not in known]
        if unknown:
            raise ValidationError("alarms", f"{unknown} not defined in policies/alarms.yaml; known: {sorted(known)}")
    return request


def check_environment(policy_file: str, environment: str) -> None:
    from mlops.promotion.policy import load_policy

    path = resolve_policy_file(policy_file)
    try:
        load_policy(path).for_environment(environment)
    except NotFoundError as e:
        raise ValidationError("environment", str(e)) from None
    except MlopsError as e:
        raise ValidationError("policy_file", str(e)) from None


def parse_training_request(params: Mapping[str, Any], settings: Settings) -> TrainingRequest:
    """Every field of the training pipeline's form, checked; raises ValidationError naming the field."""
    algorithm = str(_get(params, "algorithm", "xgboost")).strip()
    check_algorithm(settings, algorithm)
    source = str(_get(params, "dataset_source", "bundled:churn")).strip()
    if source.startswith(BUNDLED_PREFIX) and source[len(BUNDLED_PREFIX) :] not in BUNDLED_DATASETS:
        raise ValidationError("dataset_source", f"{source!r}: the bundled datasets are {', '.join(BUNDLED_DATASETS)}")
    if not source.startswith((BUNDLED_PREFIX, "s3://")) and not Path(source.removeprefix("file://")).exists():
        raise ValidationError("dataset_source", f"{source} does not exist")
    train = _ratio(params, "split_train", 0.7)
    validation = _ratio(params, "split_validation", 0.15)
    test = _ratio(params, "split_test", 0.15)
    check_split(train, validation, test)
    strategy = str(_get(params, "tuning_strategy", "Bayesian")).strip()
    matched = next((s for s in TUNING_STRATEGIES if s.lower() == strategy.lower()), None)
    if matched is None:
        raise ValidationError("tuning_strategy", f"{strategy!r}: use one of {', '.join(TUNING_STRATEGIES)}")
    static = {str(k): str(v) for k, v in dict(_get(params, "hyperparameters", {}) or {}).items()}
    request = TrainingRequest(
        dataset_name=_name(params, "dataset_name", "churn"),
        dataset_source=source,
        bundled_rows=_int(params, "bundled_rows", 20_000, 500, 5_000_000),
        split_train=train,
        split_validation=validation,
        split_test=test,
        split_seed=_int(params, "split_seed", 7, 0),
        algorithm=algorithm,
        tuning_strategy=matched,
        max_jobs=_int(params, "max_jobs", 4, 1, 100),
        max_parallel=_int(params, "max_parallel", 2, 1, TRAINING_POOL_SLOTS),
        objective=(str(params["objective"]).strip() or None) if params.get("objective") else None,
        model_group=_name(params, "model_group", "churn"),
        policy_file=str(_get(params, "policy_file", "policies/promotion.yaml")),
        deployment=check_deployment(params),
        static_hyperparameters=static,
    )
    check_environment(request.policy_file, request.deployment.environment)
    if request.tuned:
        from mlops.tuning.factory import create_strategy

        create_strategy(tuning_config(request, objective_for(request, settings, None)))
    return request


# ------------------------------------------------------------------------------------- tuning config


@dataclass(frozen=True)
class Objective:
    metric: str
    maximize: bool


_USUAL_OBJECTIVE = {
    ("xgboost", "BinaryClassification"): "validation:auc",
    ("xgboost", "MulticlassClassification"): "validation:mlogloss",
    ("xgboost", "Regression"): "validation:rmse",
    ("linear-learner", "BinaryClassification"): "validation:roc_auc_score",
    ("linear-learner", "MulticlassClassification"): "validation:multiclass_accuracy",
    ("linear-learner", "Regression"): "validation:rmse",
}


def objective_for(request: TrainingRequest, settings: Settings, problem: str | None) -> Objective:
    """The metric tuning optimises: the form's, else the algorithm's usual one for the problem type
    (binary classification until the data says otherwise)."""
    from mlops.algorithms.catalog import AlgorithmCatalog

    spec = AlgorithmCatalog(settings.algorithms_dir).get(request.algorithm)
    objectives = spec.TrainingSpecification.SupportedTuningJobObjectiveMetrics
    supported = {o.MetricName: o.Type.value == "Maximize" for o in objectives}
    metric = request.objective or _USUAL_OBJECTIVE[(request.algorithm, problem or "BinaryClassification")]
    if metric not in supported:
        raise ValidationError(
            "objective", f"{metric!r} is not an objective of {request.algorithm}: {', '.join(supported)}"
        )
    return Objective(metric, supported[metric])


def problem_hyperparameters(algorithm: str, problem: str, classes: int) -> dict[str, str]:
    """The static hyperparameters a dataset's problem type implies."""
    if algorithm == "xgboost":
        if problem == "Regression":
            return {"objective": "reg:squarederror", "eval_metric": "rmse"}
        if problem == "MulticlassClassification":
            return {"objective": "multi:softprob", "num_class": str(classes), "eval_metric": "mlogloss"}
        return {"objective": "binary:logistic", "eval_metric": "logloss,auc"}
    if problem == "Regression":
        return {"predictor_type": "regressor"}
    if problem == "MulticlassClassification":
        return {"predictor_type": "multiclass_classifier", "num_classes": str(classes)}
    return {"predictor_type": "binary_classifier"}


def parameter_ranges(ranges: Mapping[str, str]) -> Any:
    """``{"eta": "0.05:0.5:log", "max_depth": "3:8:int", "booster": "gbtree,dart"}`` as ParameterRanges."""
    from mlops.core.tuning import (
        CategoricalParameterRange,
        ContinuousParameterRange,
        IntegerParameterRange,
        ParameterRanges,
        ScalingType,
    )

    continuous, integer, categorical = [], [], []
    for name, spec in ranges.items():
        parts = spec.split(":")
        if "," in spec or len(parts) < 2:
            categorical.append(CategoricalParameterRange(Name=name, Values=tuple(spec.split(","))))
            continue
        scaling = ScalingType.Logarithmic if "log" in parts[2:] else ScalingType.Auto
        if "int" in parts[2:]:
            integer.append(IntegerParameterRange(Name=name, MinValue=parts[0], MaxValue=parts[1], ScalingType=scaling))
        else:
            continuous.append(
                ContinuousParameterRange(Name=name, MinValue=parts[0], MaxValue=parts[1], ScalingType=scaling)
            )
    return ParameterRanges(
        ContinuousParameterRanges=tuple(continuous),
        IntegerParameterRanges=tuple(integer),
        CategoricalParameterRanges=tuple(categorical),
    )


def tuning_config(request: TrainingRequest, objective: Objective) -> Any:
    """The HyperParameterTuningJobConfig of a run (Hyperband's MaxResource from the resource hyperparameter)."""
    from mlops.core.tuning import (
        HyperbandStrategyConfig,
        HyperParameterTuningJobConfig,
        HyperParameterTuningJobObjective,
        HyperParameterTuningJobStrategyConfig,
        HyperParameterTuningJobStrategyType,
        ObjectiveType,
        ResourceLimits,
    )

    defaults = SEARCH[request.algorithm]
    strategy = HyperParameterTuningJobStrategyType(request.tuning_strategy)
    strategy_config = None
    if strategy is HyperParameterTuningJobStrategyType.Hyperband:
        resource = "num_round" if request.algorithm == "xgboost" else "epochs"
        full = max(int({**defaults.static, **request.static_hyperparameters}.get(resource, "0") or 0), 2)
        # Rungs start where the metric means something: about a thirtieth of the full budget (3 of 100).
        smallest = min(max(1, round(full / 30)), full - 1)
        strategy_config = HyperParameterTuningJobStrategyConfig(
            HyperbandStrategyConfig=HyperbandStrategyConfig(MinResource=smallest, MaxResource=full)
        )
    return HyperParameterTuningJobConfig(
        Strategy=strategy,
        StrategyConfig=strategy_config,
        HyperParameterTuningJobObjective=HyperParameterTuningJobObjective(
            Type=ObjectiveType.Maximize if objective.maximize else ObjectiveType.Minimize, MetricName=objective.metric
        ),
        ResourceLimits=ResourceLimits(
            MaxNumberOfTrainingJobs=request.max_jobs, MaxParallelTrainingJobs=request.max_parallel
        ),
        ParameterRanges=parameter_ranges(defaults.ranges),
        RandomSeed=request.split_seed,
    )
