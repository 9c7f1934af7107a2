"""What a pipeline run is asked to do, checked before anything runs.

The trigger form's values (Airflow Params) become typed, frozen requests here. Every check names the
form field it refuses, so a bad run fails at its first task with a message a user can act on, and
nothing is ingested, trained or deployed. No Airflow import: the DAG's first task calls these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from mlops.core.algorithm import AlgorithmSpec, DefaultTuning, ProblemTypeSpecification, check_ranges
from mlops.core.datasets import ProblemType
from mlops.core.errors import MlopsError, NotFoundError, ValidationError
from mlops.core.ids import check_name
from mlops.core.records import Record
from mlops.core.tuning import (
    HyperParameterTuningJobConfig,
    HyperParameterTuningJobObjective,
    HyperParameterTuningJobStrategyType,
    ResourceLimits,
)
from mlops.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_PREFIX = "bundled:"
BUNDLED_DATASETS = ("churn",)
TUNING_STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband", "none")
DEPLOYMENT_STRATEGIES = ("canary", "linear", "all-at-once")
# The Airflow pool that bounds parallel training; its size is the most training jobs a run may ask for.
TRAINING_POOL = "mlops_training"
TRAINING_POOL_SLOTS = 2


class DeploymentRequest(Record):
    endpoint_name: str
    environment: str
    strategy: str
    canary_size: str = "10%"
    linear_step: str = "20%"
    bake_seconds: int = 10
    instances: int = 1
    alarms: tuple[str, ...] = ()
    smoke_requests: int = 300


class TrainingRequest(Record):
    """The run's form, checked, with what the run takes from its algorithm's ``algorithm.json`` (read once,
    by the first task): the search, the problem types and the tuning resource. Passed between tasks as
    ``model_dump(mode="json")`` and read back with ``model_validate``."""

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
    static_hyperparameters: dict[str, str] = Field(default_factory=dict)
    # From algorithm.json: DefaultTuning (its ParameterRanges replaced by the form's ranges, if any), the
    # problem types and TuningResourceHyperParameter.
    search: DefaultTuning
    problem_types: tuple[ProblemTypeSpecification, ...]
    tuning_resource: str | None = None

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


def check_algorithm(settings: Settings, algorithm: str) -> AlgorithmSpec:
    """The algorithm's spec; refused unless its algorithm.json gives the pipeline a DefaultTuning."""
    from mlops.services.catalog import algorithm_catalog

    catalog = algorithm_catalog(settings)
    try:
        spec = catalog.get(algorithm)
    except NotFoundError:
        known = ", ".join(catalog.names()) or "none"
        raise ValidationError(
            "algorithm", f"{algorithm!r} is not an algorithm of the catalog; known: {known}"
        ) from None
    if spec.DefaultTuning is None:
        tuned = [name for name in catalog.names() if catalog.get(name).DefaultTuning is not None]
        raise ValidationError(
            "algorithm",
            f"the pipeline has no search space for {algorithm!r} (no DefaultTuning in its algorithm.json); "
            f"it tunes: {', '.join(tuned)}",
        )
    return spec


def check_search(
    spec: AlgorithmSpec, ranges: Mapping[str, Any], static: Mapping[str, str], strategy: str
) -> DefaultTuning:
    """The algorithm's DefaultTuning, with the form's ranges (if any) in place of its ParameterRanges; the
    ranges are checked as ``mlops tune --range`` checks them."""
    from mlops.services.tuning_config import parse_ranges

    assert spec.DefaultTuning is not None
    search = spec.DefaultTuning
    if not isinstance(ranges, Mapping):
        raise ValidationError(
            "ranges", f'give an object of NAME: RANGE, e.g. {{"eta": "0.05:0.5:log"}}; got {ranges!r}'
        )
    if ranges:
        parsed = parse_ranges(((str(k), str(v)) for k, v in ranges.items()), "ranges")
        check_ranges(spec, parsed, "ranges")
        also_static = sorted(set(parsed.names()) & set(static))
        if also_static:
            raise ValidationError("ranges", f"{', '.join(also_static)} also given in hyperparameters; give each once")
        defaults = {k: v for k, v in search.StaticHyperParameters.items() if k not in parsed.names()}
        search = search.model_copy(update={"ParameterRanges": parsed, "StaticHyperParameters": defaults})
    if strategy == "Hyperband" and spec.TuningResourceHyperParameter is None:
        raise ValidationError(
            "tuning_strategy", f"Hyperband needs a TuningResourceHyperParameter, which {spec.AlgorithmName} lacks"
        )
    return search


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
    spec = check_algorithm(settings, algorithm)
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
    search = check_search(spec, _get(params, "ranges", {}), static, matched)
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
        search=search,
        problem_types=spec.SupportedProblemTypes,
        tuning_resource=spec.TuningResourceHyperParameter,
    )
    check_environment(request.policy_file, request.deployment.environment)
    if request.tuned:
        from mlops.tuning.factory import create_strategy

        create_strategy(tuning_config(request, objective_for(request, settings, None)))
    return request


# ------------------------------------------------------------------------------------- tuning config


def problem_type(request: TrainingRequest, problem: str | None) -> ProblemTypeSpecification:
    """What the algorithm's algorithm.json says for the dataset's problem type (binary classification until
    the data says otherwise)."""
    wanted = problem or ProblemType.BinaryClassification
    for entry in request.problem_types:
        if entry.ProblemType == wanted:
            return entry
    supported = ", ".join(e.ProblemType.value for e in request.problem_types) or "none"
    raise ValidationError(
        "dataset", f"{request.algorithm} does not train for {wanted}; its algorithm.json supports: {supported}"
    )


def objective_for(
    request: TrainingRequest, settings: Settings, problem: str | None
) -> HyperParameterTuningJobObjective:
    """The objective tuning optimises: the form's, else the algorithm's DefaultTuningJobObjective for the
    problem type; its direction is the one the algorithm declares for the metric."""
    from mlops.services.catalog import algorithm_catalog
    from mlops.services.tuning_config import tuning_objective

    spec = algorithm_catalog(settings).get(request.algorithm)
    metric = request.objective or problem_type(request, problem).DefaultTuningJobObjective.MetricName
    return tuning_objective(spec, metric, None, "objective")


def problem_hyperparameters(request: TrainingRequest, problem: str, classes: int) -> dict[str, str]:
    """The static hyperparameters a dataset's problem type implies (algorithm.json's SupportedProblemTypes)."""
    entry = problem_type(request, problem)
    extra = {entry.ClassCountHyperParameter: str(classes)} if entry.ClassCountHyperParameter else {}
    return {**entry.HyperParameters, **extra}


def tuning_config(
    request: TrainingRequest, objective: HyperParameterTuningJobObjective
) -> HyperParameterTuningJobConfig:
    """The HyperParameterTuningJobConfig of a run (Hyperband's MaxResource from the resource hyperparameter)."""
    from mlops.services.tuning_config import full_job_steps, tuning_job_config

    strategy = HyperParameterTuningJobStrategyType(request.tuning_strategy)
    static = {**request.search.StaticHyperParameters, **request.static_hyperparameters}
    hyperband = strategy is HyperParameterTuningJobStrategyType.Hyperband
    config, _ = tuning_job_config(
        strategy=strategy,
        objective=objective,
        ranges=request.search.ParameterRanges,
        limits=ResourceLimits(MaxNumberOfTrainingJobs=request.max_jobs, MaxParallelTrainingJobs=request.max_parallel),
        resource=request.tuning_resource,
        static=static,
        max_resource=max(full_job_steps(request.tuning_resource, static), 2) if hyperband else None,
        seed=request.split_seed,
    )
    return config
