"""Deploying an Approved model version to an endpoint, as library calls (no Airflow import).

``start_deployment`` creates the model (``deployment_model``: with the sha256 of the version's lineage)
and the endpoint config of a run (named after the run, so a retry finds them) and asks the endpoint
router's control process to create the endpoint or to update it blue/green with the chosen strategy
and alarms. ``deployment_state`` reads DescribeEndpoint and says
whether that deployment has ended; the trigger calls it while the task waits deferred.
``finish_deployment`` points the environment's registry alias at the version, ``smoke_test`` sends a
few hundred real requests through the router.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from mlops.airflow.records import DeployedEndpoint, DeploymentStarted, SmokeTestResult
from mlops.airflow.request import DeploymentRequest
from mlops.airflow.steps import JobEnded
from mlops.core.errors import ConflictError, MlopsError, NotFoundError, ValidationError
from mlops.core.hosting import DeploymentStatus, Endpoint, EndpointStatus, Model, ProductionVariant
from mlops.settings import Settings


class SmokeTestFailed(MlopsError):
    """Requests to the freshly deployed endpoint failed."""


def router_url(settings: Settings) -> str:
    return f"http://{settings.router_host}:{settings.router_port}"


def invocation_url(settings: Settings, endpoint: str) -> str:
    return f"{router_url(settings)}/endpoints/{endpoint}/invocations"


def approved_version(settings: Settings, group: str, version: int | str | None) -> int:
    """The version to deploy: the given number, or the newest Approved one; refused unless Approved."""
    from mlops.core.registry import ModelApprovalStatus
    from mlops.services.registry import open_registry

    registry = open_registry(settings)
    try:
        if version in (None, "", "latest", "latest-approved"):
            approved = registry.list_model_packages(group, ModelApprovalStatus.Approved)
            if not approved:
                raise ValidationError("model_version", f"{group} has no Approved version to deploy")
            return approved[-1].ModelPackageVersion
        number = int(str(version))
        package = registry.describe_model_package(group, number)
    except NotFoundError as e:
        raise ValidationError("model_group/model_version", str(e)) from None
    except ValueError:
        raise ValidationError("model_version", f"{version!r} is neither a number nor 'latest-approved'") from None
    if not package.deployable:
        raise ValidationError(
            "model_version",
            f"{group} version {number} is {package.ModelApprovalStatus.value}; only an Approved version is deployed",
        )
    return number


def _describe(settings: Settings, name: str) -> Endpoint | None:
    from mlops.services.control_client import ControlProcessUnavailable
    from mlops.services.hosting_wiring import control_client_for

    try:
        return control_client_for(settings).describe(name)
    except ControlProcessUnavailable:
        raise
    except MlopsError as e:  # 404: no such endpoint yet
        if "not found" in str(e).lower() or "does not exist" in str(e).lower():
            return None
        raise


def deployment_model(settings: Settings, group: str, version: int, suffix: str) -> Model:
    """The run's model of an Approved version (found again on a retry), carrying the sha256 the version's
    lineage records, which its servers check before serving."""
    from mlops.hosting.store import HostingStore
    from mlops.services.registry import create_model_from_package, open_registry

    registry = open_registry(settings)
    package = registry.describe_model_package(group, version)
    if not package.deployable:
        raise ValidationError(
            "model_version", f"{group} version {version} is {package.ModelApprovalStatus.value}, not Approved"
        )
    name = f"{group}-v{version}-{suffix}"
    try:
        return HostingStore(settings.home).model(name)
    except NotFoundError:
        return create_model_from_package(settings, registry, name, group, version)


def start_deployment(
    settings: Settings, request: DeploymentRequest, group: str, version: int, suffix: str
) -> DeploymentStarted:
    """Create (or find) the run's model and endpoint config and start the endpoint's deployment."""
    from mlops.hosting.store import HostingStore
    from mlops.services.hosting import deployment_config
    from mlops.services.hosting_wiring import control_client_for, create_endpoint_config, default_capture

    model_name = deployment_model(settings, group, version, suffix).ModelName
    store = HostingStore(settings.home)
    config_name = f"{request.endpoint_name}-v{version}-{suffix}"
    try:
        store.endpoint_config(config_name)
    except NotFoundError:
        variant = ProductionVariant(
            VariantName=f"v{version}",
            ModelName=model_name,
            InitialInstanceCount=request.instances,
            InitialVariantWeight=1.0,
        )
        create_endpoint_config(settings, config_name, [variant], capture=default_capture(settings))
    client = control_client_for(settings)
    endpoint = _describe(settings, request.endpoint_name)
    deployment = deployment_config(
        request.strategy, request.canary_size, request.linear_step, request.bake_seconds, alarms=request.alarms
    )
    if endpoint is None:
        client.create_endpoint(request.endpoint_name, config_name)
        mode = "created (the endpoint's first model: all traffic to it)"
    elif endpoint.EndpointConfigName == config_name or (
        endpoint.Deployment is not None and endpoint.Deployment.TargetEndpointConfigName == config_name
    ):
        mode = "found (started by an earlier try)"
    elif endpoint.EndpointStatus is EndpointStatus.Failed:
        raise ConflictError(
            f"endpoint {request.endpoint_name} is Failed ({endpoint.FailureReason}); "
            f"delete it with `mlops endpoints delete {request.endpoint_name}` and deploy again"
        )
    else:
        client.update_endpoint(request.endpoint_name, config_name, deployment)
        mode = f"updated blue/green: {request.strategy}"
    return DeploymentStarted(
        endpoint=request.endpoint_name,
        config=config_name,
        model=model_name,
        group=group,
        version=version,
        mode=mode,
        strategy=request.strategy,
        alarms=list(request.alarms),
    )


def deployment_state(endpoint: Endpoint, target_config: str) -> tuple[str, str | None] | None:
    """("Completed" | "RolledBack" | "Failed", reason) once the deployment of ``target_config`` has
    ended, None while it goes on."""
    if endpoint.EndpointStatus is EndpointStatus.Failed:
        return "Failed", endpoint.FailureReason or "the endpoint failed"
    d = endpoint.Deployment
    if d is not None and d.TargetEndpointConfigName == target_config:
        if d.Status is DeploymentStatus.InProgress:
            return None
        if d.Status is DeploymentStatus.Completed:
            return ("Completed", None) if endpoint.EndpointStatus is EndpointStatus.InService else None
        return d.Status.value, d.Reason
    if endpoint.EndpointConfigName == target_config and endpoint.EndpointStatus is EndpointStatus.InService:
        return "Completed", None
    return None


def describe_endpoint(settings: Settings, name: str) -> Endpoint:
    from mlops.services.hosting_wiring import control_client_for

    return control_client_for(settings).describe(name)


def endpoint_summary(settings: Settings, endpoint: Endpoint) -> dict[str, Any]:
    d = endpoint.Deployment
    return {
        "endpoint": endpoint.EndpointName,
        "status": endpoint.EndpointStatus.value,
        "config": endpoint.EndpointConfigName,
        "url": invocation_url(settings, endpoint.EndpointName),
        "variants": [
            {
                "name": v.VariantName,
                "model": v.ModelName,
                "weight": v.CurrentWeight,
                "instances": v.CurrentInstanceCount,
            }
            for v in endpoint.ProductionVariants
        ],
        "deployment": None
        if d is None
        else {
            "from": d.SourceEndpointConfigName,
            "to": d.TargetEndpointConfigName,
            "status": d.Status.value,
            "steps": [f"{s.NewFleetTrafficPercent:g}% then bake {s.BakeSeconds}s" for s in d.Steps],
            "reason": d.Reason,
        },
    }


def finish_deployment(
    settings: Settings, request: DeploymentRequest, started: DeploymentStarted, state: str, reason: str | None
) -> DeployedEndpoint:
    """After the trigger saw the deployment end: on success the environment's alias names the version."""
    from mlops.services.registry import open_registry

    if state != "Completed":
        raise JobEnded(
            f"deployment of {started.config} to endpoint {started.endpoint} ended {state}: "
            f"{reason or 'no reason given'}"
        )
    registry = open_registry(settings)
    registry.set_alias(started.group, request.environment, started.version)
    endpoint = describe_endpoint(settings, started.endpoint)
    return DeployedEndpoint.model_validate(
        {**started.model_dump(), **endpoint_summary(settings, endpoint), "alias": request.environment}
    )


def smoke_test(settings: Settings, endpoint: str, test_csv: str, requests: int) -> SmokeTestResult:
    """Send ``requests`` rows of the test split (features only, one row per request) to the endpoint."""
    from mlops.services.hosting_wiring import invoke

    rows = []
    with open(test_csv) as f:
        for line in f:
            if line.strip():
                rows.append(line.rstrip("\n").split(",", 1)[1])
            if len(rows) >= max(requests, 1):
                break
    if not rows:
        raise SmokeTestFailed(f"{test_csv} holds no rows to send")
    latencies: list[float] = []
    variants: dict[str, int] = {}
    errors: list[str] = []
    for i in range(requests):
        started = time.perf_counter()
        result = invoke(settings, endpoint, rows[i % len(rows)].encode(), "text/csv", "application/json")
        latencies.append((time.perf_counter() - started) * 1000)
        if result.error:
            errors.append(result.error)
        elif result.variant:
            variants[result.variant] = variants.get(result.variant, 0) + 1
    latencies.sort()
    summary = SmokeTestResult(
        endpoint=endpoint,
        requests=requests,
        ok=requests - len(errors),
        errors=len(errors),
        error_samples=errors[:3],
        variants=variants,
        p50_ms=round(statistics.median(latencies), 2) if latencies else None,
        p99_ms=round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 2) if latencies else None,
    )
    if errors:
        raise SmokeTestFailed(f"{len(errors)} of {requests} requests to {endpoint} failed, e.g. {errors[0]}")
    return summary
