"""SageMaker's hosting operations: models, endpoint configs and endpoints, on the hosting store and the
control process's Controller (the same records and lifecycle as ``mlops models`` / ``mlops
endpoint-configs`` / ``mlops endpoints``).

Models and endpoint configs are records in the hosting store (synchronous rows, run in a worker
thread); endpoints belong to the Controller, which lives in the control process's event loop, so their
rows are async (``in_loop``).

A model's container ``Image`` is a local image (``mlops/xgboost[:TAG]``) or a SageMaker built-in's ECR URI
(``image_uris.retrieve("xgboost", region, "1.7-1")``) that an algorithm of the catalog declares
(algorithms/image_uris.py); the model is served by that algorithm, and DescribeModel shows the local
image that stands for it. ``ModelDataUrl`` is an absolute local path, file:// or s3://. Its sha256 is the
one its training job recorded when the artifact is a job's of this home; otherwise it is computed here,
at CreateModel, from the bytes there now, and every server start checks the archive against it.

Alarm names of ``AutoRollbackConfiguration`` resolve to the platform's alarm definitions (the alarms
file ``mlops endpoints update --alarm`` reads, policies/alarms.yaml); there is no CloudWatch here.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from mlops.algorithms.image_uris import LOCAL_PREFIX, resolve_training_image
from mlops.api.errors import ApiError, validation
from mlops.api.listing import page, sort_and_filter
from mlops.api.operations import Operation, in_loop, table
from mlops.core.errors import ConflictError, MlopsError, NotFoundError, ValidationError
from mlops.core.hosting import (
    AlarmDefinition,
    CreateEndpointInput,
    DataCaptureConfig,
    DeploymentConfig,
    DeploymentStatus,
    Endpoint,
    EndpointConfig,
    EndpointStatus,
    Model,
    ProductionVariant,
    ShadowProductionVariant,
    UpdateEndpointInput,
    UpdateEndpointWeightsAndCapacitiesInput,
    hosting_arn,
)
from mlops.hosting.controller import Controller
from mlops.hosting.store import HostingStore
from mlops.services.hosting import Hosting, create_endpoint_config, create_model, producing_job, pydantic_error

MODEL_MEMBERS = frozenset({"ModelName", "PrimaryContainer", "Containers", "ExecutionRoleArn"})
CONTAINER_MEMBERS = frozenset({"Image", "ModelDataUrl", "Environment", "Mode", "ContainerHostname"})
CONFIG_MEMBERS = frozenset(
    {"EndpointConfigName", "ProductionVariants", "ShadowProductionVariants", "DataCaptureConfig"}
)
VARIANT_MEMBERS = frozenset(
    {"VariantName", "ModelName", "InitialInstanceCount", "InitialVariantWeight", "InstanceType"}
)
CAPTURE_MEMBERS = frozenset(
    {"EnableCapture", "InitialSamplingPercentage", "DestinationS3Uri", "CaptureOptions", "CaptureContentTypeHeader"}
)
ENDPOINT_MEMBERS = frozenset({"EndpointName", "EndpointConfigName"})
UPDATE_MEMBERS = frozenset(
    {"EndpointName", "EndpointConfigName", "RetainAllVariantProperties", "DeploymentConfig", "RetainDeploymentConfig"}
)
DEPLOYMENT_MEMBERS = frozenset({"BlueGreenUpdatePolicy", "AutoRollbackConfiguration"})
WEIGHTS_MEMBERS = frozenset({"VariantName", "DesiredWeight", "DesiredInstanceCount"})
KIND_TEXT = {"model": "model", "endpoint config": "endpoint configuration", "endpoint": "endpoint"}
ARN_KIND = {"model": "model", "endpoint config": "endpoint-config", "endpoint": "endpoint"}


def _only(given: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise validation(f"{where}{extra[0]} is not supported by this local SageMaker API")


def could_not_find(kind: str, name: str) -> ApiError:
    """SageMaker's answer for a missing model, endpoint configuration or endpoint."""
    return validation(f'Could not find {KIND_TEXT[kind]} "{hosting_arn(ARN_KIND[kind], name)}".')


def already_exists(kind: str, name: str) -> ApiError:
    return validation(f'Cannot create already existing {KIND_TEXT[kind]} "{hosting_arn(ARN_KIND[kind], name)}".')


def _refusal(e: MlopsError, where: str = "") -> ApiError:
    if isinstance(e, NotFoundError) and e.kind in KIND_TEXT:
        return could_not_find(e.kind, e.name)
    return validation(f"{where}{e}")


def check_data_url(field: str, url: str) -> str:
    """``url`` as a location the model's data is read from: s3://BUCKET/KEY with a key of plain segments,
    file:// or an absolute local path without ``..``. Anything else is refused naming ``field``."""
    if "\0" in url or "\\" in url:
        raise validation(f"{field}: {url!r} holds a NUL or a backslash")
    if url.startswith("s3://"):
        bucket, _, key = url[len("s3://") :].partition("/")
        segments = key.split("/")
        if not bucket or not key or any(s in ("", ".", "..") for s in segments):
            raise validation(f"{field}: {url!r}: give s3://BUCKET/KEY with no empty, '.' or '..' key segment")
        return url
    path = url[len("file://") :] if url.startswith("file://") else url
    if "://" in path:
        raise validation(f"{field}: {url!r}: use an s3:// URI, a file:// URI or an absolute local path")
    if not path.startswith("/") or ".." in PurePosixPath(path).parts:
        raise validation(f"{field}: {url!r}: a local model data path must be absolute and hold no '..'")
    return path


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def deployment_config(value: dict[str, Any]) -> DeploymentConfig:
    """SageMaker's DeploymentConfig as our record; a bad value names its field."""
    _only(value, DEPLOYMENT_MEMBERS, "DeploymentConfig.")
    if "BlueGreenUpdatePolicy" not in value:
        raise validation("DeploymentConfig.BlueGreenUpdatePolicy: only blue/green deployments are supported here")
    try:
        return DeploymentConfig.model_validate(value)
    except PydanticValidationError as e:
        raise validation(str(pydantic_error("DeploymentConfig", e))) from None


def alarm_definitions(config: DeploymentConfig, known: dict[str, AlarmDefinition]) -> tuple[AlarmDefinition, ...]:
    """The platform's definitions of the alarms ``config`` names; an unknown name is refused naming it."""
    out = []
    for i, name in enumerate(config.alarm_names):
        if name not in known:
            shown = ", ".join(sorted(known)) or "none"
            raise validation(
                f"DeploymentConfig.AutoRollbackConfiguration.Alarms[{i}].AlarmName: {name!r} is not an alarm of "
                f"this platform's alarms file (known: {shown})"
            )
        out.append(known[name])
    return tuple(out)


def shadow_sampling(variants: list[dict[str, Any]], shadow: dict[str, Any]) -> float:
    """SageMaker gives a shadow variant a copy of the traffic in proportion to its weight relative to the
    production variants' (capped at all of it): that share as our SamplingPercentage."""
    total = sum(float(v.get("InitialVariantWeight", 1.0)) for v in variants)
    weight = float(shadow.get("InitialVariantWeight", 1.0))
    return 100.0 if total <= 0 else min(100.0, 100.0 * weight / total)


def endpoint_answer(endpoint: Endpoint, pending: EndpointConfig | None) -> dict[str, Any]:
    """Our Endpoint record in DescribeEndpoint's shape: PendingDeploymentSummary while a deployment runs,
    the reason of the last rollback as FailureReason."""
    out = endpoint.model_dump(mode="python")
    deployment = endpoint.Deployment
    if endpoint.EndpointStatus is not EndpointStatus.Failed:
        out["FailureReason"] = endpoint.FailureReason or endpoint.LastRollbackReason
    if deployment is not None and deployment.Status is DeploymentStatus.InProgress and pending is not None:
        share = deployment.NewFleetTrafficPercent / 100.0
        total = sum(v.InitialVariantWeight for v in pending.ProductionVariants) or 1.0
        out["PendingDeploymentSummary"] = {
            "EndpointConfigName": deployment.TargetEndpointConfigName,
            "StartTime": deployment.StartTime,
            "ProductionVariants": [
                {
                    "VariantName": v.VariantName,
                    "CurrentWeight": share * v.InitialVariantWeight / total,
                    "DesiredWeight": v.InitialVariantWeight,
                    "DesiredInstanceCount": v.InitialInstanceCount,
                    "VariantStatus": [{"Status": "Baking" if share else "Creating", "StartTime": deployment.StartTime}],
                }
                for v in pending.ProductionVariants
            ],
        }
    return out


def _dump(record: BaseModel) -> dict[str, Any]:
    return record.model_dump(mode="python")


@dataclass(frozen=True)
class HostingOperations:
    hosting: Hosting
    controller: Controller
    alarms: Callable[[], dict[str, AlarmDefinition]]  # the platform's alarm definitions, read per update

    def operations(self) -> dict[str, Operation]:
        return table(
            Operation("CreateModel", self.create_model),
            Operation("DescribeModel", self.describe_model),
            Operation("ListModels", self.list_models),
            Operation("DeleteModel", self.delete_model),
            Operation("CreateEndpointConfig", self.create_endpoint_config),
            Operation("DescribeEndpointConfig", self.describe_endpoint_config),
            Operation("ListEndpointConfigs", self.list_endpoint_configs),
            Operation("DeleteEndpointConfig", self.delete_endpoint_config),
            in_loop("CreateEndpoint", self.create_endpoint),
            in_loop("DescribeEndpoint", self.describe_endpoint),
            in_loop("ListEndpoints", self.list_endpoints),
            in_loop("UpdateEndpoint", self.update_endpoint),
            in_loop("UpdateEndpointWeightsAndCapacities", self.update_weights),
            in_loop("DeleteEndpoint", self.delete_endpoint),
        )

    @property
    def store(self) -> HostingStore:
        return self.hosting.store

    # --- models -----------------------------------------------------------------------------------------

    def _model(self, name: str) -> Model:
        try:
            return self.store.model(name)
        except NotFoundError:
            raise could_not_find("model", name) from None
        except ValidationError as e:
            raise validation(f"ModelName: {e}") from None

    def create_model(self, params: dict[str, Any]) -> dict[str, Any]:
        _only(params, MODEL_MEMBERS, "")
        name = params["ModelName"]
        containers = params.get("Containers") or []
        if "PrimaryContainer" in params and containers:
            raise validation("Containers: give a PrimaryContainer or Containers, not both")
        if len(containers) > 1:
            raise validation(
                "Containers: the local runtime serves one container per model (inference pipelines are not supported)"
            )
        where = "PrimaryContainer" if "PrimaryContainer" in params else "Containers[0]"
        container = params.get("PrimaryContainer") or (containers[0] if containers else None)
        if container is None:
            raise validation("PrimaryContainer: give the model's container (Image and ModelDataUrl)")
        _only(container, CONTAINER_MEMBERS, f"{where}.")
        if container.get("Mode", "SingleModel") != "SingleModel":
            raise validation(f"{where}.Mode: only SingleModel is supported")
        try:
            algorithm = resolve_training_image(str(container.get("Image") or ""), self.hosting.catalog)
        except ValidationError as e:
            raise validation(f"{where}.Image{str(e).removeprefix('TrainingImage')}") from None
        if "ModelDataUrl" not in container:
            raise validation(f"{where}.ModelDataUrl: give the model's data (a model.tar.gz)")
        location = check_data_url(f"{where}.ModelDataUrl", str(container["ModelDataUrl"]))
        try:
            store = self.hosting.object_store(location)
            if not store.exists(location):
                raise validation(f"{where}.ModelDataUrl: {container['ModelDataUrl']} does not exist")
            sha = None
            if producing_job(self.hosting.training_jobs, location) is None:
                sha = self._sha256(location)  # no job vouches for it: the bytes there now
            model = create_model(
                self.hosting,
                name,
                location,
                algorithm=algorithm,
                model_sha256=sha,
                environment=dict(container.get("Environment", {})),
            )
        except ConflictError:
            raise already_exists("model", name) from None
        except MlopsError as e:
            raise validation(f"{where}: {e}") from None
        return {"ModelArn": model.ModelArn}

    def _sha256(self, location: str) -> str:
        if "://" not in location:
            return _file_sha256(Path(location))
        with tempfile.TemporaryDirectory() as folder:
            local = self.hosting.object_store(location).get_file(location, Path(folder) / "model.tar.gz")
            return _file_sha256(local)

    def describe_model(self, params: dict[str, Any]) -> dict[str, Any]:
        model = self._model(params["ModelName"])
        container = model.PrimaryContainer
        image = container.Image or f"{LOCAL_PREFIX}{container.AlgorithmName}"
        primary = {"Image": image, "ModelDataUrl": container.ModelDataUrl, "Environment": dict(container.Environment)}
        return {
            "ModelName": model.ModelName,
            "ModelArn": model.ModelArn,
            "PrimaryContainer": primary,
            "CreationTime": model.CreationTime,
            "EnableNetworkIsolation": False,
        }

    def list_models(self, params: dict[str, Any]) -> dict[str, Any]:
        models = sort_and_filter(
            self.store.models(), params, name=lambda m: m.ModelName, created=lambda m: m.CreationTime
        )
        items, token = page(models, params)
        out: dict[str, Any] = {"Models": [_dump(m) for m in items]}
        if token:
            out["NextToken"] = token
        return out

    def delete_model(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        self._model(name)
        self.store.delete_model(name)  # as on SageMaker, endpoint configs that name it are left as they are
        return {}

    # --- endpoint configs -------------------------------------------------------------------------------

    def _config(self, name: str) -> EndpointConfig:
        try:
            return self.store.endpoint_config(name)
        except NotFoundError:
            raise could_not_find("endpoint config", name) from None
        except ValidationError as e:
            raise validation(f"EndpointConfigName: {e}") from None

    def create_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        _only(params, CONFIG_MEMBERS, "")
        name = params["EndpointConfigName"]
        raw_variants = params["ProductionVariants"]
        variants = []
        for i, v in enumerate(raw_variants):
            _only(v, VARIANT_MEMBERS, f"ProductionVariants[{i}].")
            if "ModelName" not in v:
                raise validation(f"ProductionVariants[{i}].ModelName: required (serverless variants are not supported)")
            try:
                variants.append(ProductionVariant.model_validate(v))
            except PydanticValidationError as e:
                raise validation(str(pydantic_error(f"ProductionVariants[{i}]", e))) from None
        shadows = []
        for i, s in enumerate(params.get("ShadowProductionVariants", [])):
            _only(s, VARIANT_MEMBERS, f"ShadowProductionVariants[{i}].")
            if "ModelName" not in s:
                raise validation(f"ShadowProductionVariants[{i}].ModelName: required")
            try:
                shadows.append(
                    ShadowProductionVariant.model_validate(
                        {**s, "SamplingPercentage": shadow_sampling(raw_variants, s)}
                    )
                )
            except PydanticValidationError as e:
                raise validation(str(pydantic_error(f"ShadowProductionVariants[{i}]", e))) from None
        capture = None
        if "DataCaptureConfig" in params:
            raw = params["DataCaptureConfig"]
            _only(raw, CAPTURE_MEMBERS, "DataCaptureConfig.")
            destination = check_data_url("DataCaptureConfig.DestinationS3Uri", str(raw["DestinationS3Uri"]))
            try:
                capture = DataCaptureConfig.model_validate({**raw, "DestinationS3Uri": destination})
            except PydanticValidationError as e:
                raise validation(str(pydantic_error("DataCaptureConfig", e))) from None
        try:
            config = create_endpoint_config(self.store, name, variants, shadows, capture)
        except ConflictError:
            raise already_exists("endpoint config", name) from None
        except MlopsError as e:
            raise _refusal(e) from None
        return {"EndpointConfigArn": config.EndpointConfigArn}

    def describe_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        return _dump(self._config(params["EndpointConfigName"]))

    def list_endpoint_configs(self, params: dict[str, Any]) -> dict[str, Any]:
        configs = sort_and_filter(
            self.store.endpoint_configs(),
            params,
            name=lambda c: c.EndpointConfigName,
            created=lambda c: c.CreationTime,
        )
        items, token = page(configs, params)
        out: dict[str, Any] = {"EndpointConfigs": [_dump(c) for c in items]}
        if token:
            out["NextToken"] = token
        return out

    def delete_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        self._config(name)
        self.store.delete_endpoint_config(name)  # as on SageMaker, an endpoint using it goes on serving
        return {}

    # --- endpoints (in the control process's event loop) ----------------------------------------------

    def _endpoint(self, name: str) -> Endpoint:
        try:
            return self.controller.describe(name)
        except NotFoundError:
            raise could_not_find("endpoint", name) from None

    def _in_use(self, name: str, action: str) -> ApiError:
        status = self._endpoint(name).EndpointStatus.value
        return validation(f'Cannot {action} in-progress endpoint "{hosting_arn("endpoint", name)}" (it is {status}).')

    async def create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        _only(params, ENDPOINT_MEMBERS, "")
        name = params["EndpointName"]
        try:
            endpoint = await self.controller.create_endpoint(CreateEndpointInput.model_validate(params))
        except ConflictError:
            raise already_exists("endpoint", name) from None
        except NotFoundError as e:
            raise _refusal(e) from None
        except MlopsError as e:
            raise validation(f"EndpointConfigName: {e}") from None
        except PydanticValidationError as e:
            raise validation(str(pydantic_error("CreateEndpoint", e))) from None
        return {"EndpointArn": endpoint.EndpointArn}

    def _answer(self, endpoint: Endpoint) -> dict[str, Any]:
        pending = None
        deployment = endpoint.Deployment
        if deployment is not None and deployment.Status is DeploymentStatus.InProgress:
            try:
                pending = self.store.endpoint_config(deployment.TargetEndpointConfigName)
            except NotFoundError:
                pending = None
        return endpoint_answer(endpoint, pending)

    async def describe_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._answer(self._endpoint(params["EndpointName"]))

    async def list_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        status = params.get("StatusEquals")
        if status is not None and status not in EndpointStatus.__members__:
            raise validation(f"StatusEquals: {status!r} is not one of {', '.join(EndpointStatus.__members__)}")
        endpoints = [e for e in self.controller.list() if status is None or e.EndpointStatus.value == status]
        endpoints = sort_and_filter(
            endpoints,
            params,
            name=lambda e: e.EndpointName,
            created=lambda e: e.CreationTime,
            modified=lambda e: e.LastModifiedTime,
            status=lambda e: e.EndpointStatus.value,
        )
        items, token = page(endpoints, params)
        out: dict[str, Any] = {"Endpoints": [_dump(e) for e in items]}
        if token:
            out["NextToken"] = token
        return out

    async def update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        _only(params, UPDATE_MEMBERS, "")
        name = params["EndpointName"]
        current = self._endpoint(name)
        if params.get("RetainDeploymentConfig") and "DeploymentConfig" in params:
            raise validation("RetainDeploymentConfig: give DeploymentConfig or RetainDeploymentConfig, not both")
        if "DeploymentConfig" in params:
            config: DeploymentConfig | None = deployment_config(params["DeploymentConfig"])
        else:
            config = current.LastDeploymentConfig if params.get("RetainDeploymentConfig") else None
        definitions = alarm_definitions(config, self.alarms()) if config is not None else ()
        request = UpdateEndpointInput(
            EndpointName=name,
            EndpointConfigName=params["EndpointConfigName"],
            DeploymentConfig=config,
            RetainAllVariantProperties=bool(params.get("RetainAllVariantProperties", False)),
            AlarmDefinitions=definitions,
        )
        try:
            endpoint = await self.controller.update_endpoint(request)
        except ConflictError:
            raise self._in_use(name, "update") from None
        except NotFoundError as e:
            raise _refusal(e) from None
        except MlopsError as e:
            raise validation(str(e)) from None
        return {"EndpointArn": endpoint.EndpointArn}

    async def update_weights(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        self._endpoint(name)
        for i, item in enumerate(params["DesiredWeightsAndCapacities"]):
            _only(item, WEIGHTS_MEMBERS, f"DesiredWeightsAndCapacities[{i}].")
        try:
            request = UpdateEndpointWeightsAndCapacitiesInput.model_validate(params)
            endpoint = await self.controller.update_weights(request)
        except PydanticValidationError as e:
            raise validation(str(pydantic_error("UpdateEndpointWeightsAndCapacities", e))) from None
        except ConflictError:
            raise self._in_use(name, "update") from None
        except MlopsError as e:
            raise validation(f"DesiredWeightsAndCapacities: {e}") from None
        return {"EndpointArn": endpoint.EndpointArn}

    async def delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        self._endpoint(name)
        await self.controller.delete_endpoint(name)
        return {}
