"""The DAGs' trigger forms (Airflow Params) and their shared task defaults.

Params are typed for the form, but names (algorithm, strategies) are free text with suggestions:
the pipeline's first task checks them against the catalog and the endpoint's rules, so a bad value
fails that task with a message naming the field, before anything is ingested or trained.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param

from mlops.airflow.notify import on_failure
from mlops.airflow.request import DEPLOYMENT_STRATEGIES, TRAINING_POOL, TRAINING_POOL_SLOTS, TUNING_STRATEGIES

OWNER = "mlops"


def default_args(retries: int = 1) -> dict[str, Any]:
    """Every task: an owner, retries (safe: names derive from the run) and a timeout."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": timedelta(seconds=15),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": on_failure(),
    }


def deployment_params(
    with_model: bool = False, environment: str = "staging", endpoint: str = "churn-staging"
) -> dict[str, Param]:
    params: dict[str, Param] = {}
    if with_model:
        params["model_group"] = Param("churn", type="string", title="Model package group", section="Model")
        params["model_version"] = Param(
            "latest-approved",
            type=["string", "integer"],
            title="Model version",
            description="a version number, or latest-approved",
            section="Model",
        )
    params.update(
        {
            "environment": Param(
                environment,
                type="string",
                title="Environment",
                description="the policy environment and the registry alias that will name the deployed version",
                examples=["prod", "staging"],
                section="Deployment",
            ),
            "endpoint_name": Param(endpoint, type="string", title="Endpoint", section="Deployment"),
            "deployment_strategy": Param(
                "canary",
                type="string",
                title="Deployment strategy",
                examples=list(DEPLOYMENT_STRATEGIES),
                section="Deployment",
            ),
            "canary_size": Param("10%", type="string", title="Canary size", section="Deployment"),
            "linear_step": Param("20%", type="string", title="Linear step size", section="Deployment"),
            "bake_seconds": Param(
                10, type="integer", minimum=0, title="Bake time per traffic step (s)", section="Deployment"
            ),
            "instances": Param(1, type="integer", minimum=1, title="Instances", section="Deployment"),
            "alarms": Param(
                ["error-rate", "p99-latency"],
                type="array",
                items={"type": "string"},
                title="Rollback alarms (policies/alarms.yaml)",
                section="Deployment",
            ),
            "smoke_requests": Param(300, type="integer", minimum=0, title="Smoke-test requests", section="Deployment"),
        }
    )
    return params


def training_params() -> dict[str, Param]:
    return {
        "dataset_name": Param("churn", type="string", title="Dataset name", section="Data"),
        "dataset_source": Param(
            "bundled:churn",
            type="string",
            title="Dataset source",
            description="bundled:churn, a CSV/Parquet file or folder, or an s3:// URI",
            section="Data",
        ),
        "bundled_rows": Param(20_000, type="integer", minimum=500, title="Rows of the bundled data", section="Data"),
        "split_train": Param(0.7, type="number", title="Train share", section="Data"),
        "split_validation": Param(0.15, type="number", title="Validation share", section="Data"),
        "split_test": Param(0.15, type="number", title="Test share", section="Data"),
        "split_seed": Param(7, type="integer", minimum=0, title="Split and search seed", section="Data"),
        "algorithm": Param(
            "xgboost", type="string", title="Algorithm", examples=["xgboost", "linear-learner"], section="Training"
        ),
        "tuning_strategy": Param(
            "Bayesian",
            type="string",
            title="Tuning strategy",
            description="none trains once with default hyperparameters",
            examples=list(TUNING_STRATEGIES),
            section="Training",
        ),
        "max_jobs": Param(4, type="integer", minimum=1, title="Tuning budget (training jobs)", section="Training"),
        "max_parallel": Param(
            2,
            type="integer",
            minimum=1,
            maximum=TRAINING_POOL_SLOTS,
            title="Training jobs in parallel",
            description=f"bounded by the Airflow pool {TRAINING_POOL}",
            section="Training",
        ),
        "objective": Param(
            None,
            type=["null", "string"],
            title="Objective metric",
            description="empty: the algorithm's usual one",
            section="Training",
        ),
        "hyperparameters": Param(
            {},
            type="object",
            title="Static hyperparameters",
            description='e.g. {"num_round": "200"}',
            section="Training",
        ),
        "ranges": Param(
            {},
            type="object",
            title="Search ranges",
            description='empty: the algorithm\'s DefaultTuning; e.g. {"eta": "0.05:0.5:log", "max_depth": "3:8:int"}',
            section="Training",
        ),
        "model_group": Param("churn", type="string", title="Model package group", section="Registry"),
        "policy_file": Param(
            "policies/promotion.yaml", type="string", title="Promotion policy file", section="Registry"
        ),
        **deployment_params(),
    }
