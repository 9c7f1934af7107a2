"""Hosting use cases: models and endpoint configs (records in the hosting store, no process needed),
endpoints (through the control process's API), invocations, and running the control process.

Who writes what: models and endpoint configs are immutable records the CLI writes directly; endpoints
belong to the control process (``mlops router``), which the CLI drives over its loopback control API
(``POST /_control/{Action}``, sending the home's credentials) and which persists every endpoint after
every move.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from mlops.core.clock import utcnow
from mlops.core.datasets import FeatureEncoding
from mlops.core.digests import check_sha256
from mlops.core.encodings import first_difference, require_same_encoding
from mlops.core.errors import ConflictError, MlopsError, ValidationError
from mlops.core.hosting import (
    Alarm,
    AlarmDefinition,
    AutoRollbackConfig,
    BlueGreenUpdatePolicy,
    CapacitySize,
    CapacitySizeType,
    CaptureContentTypeHeader,
    CaptureMode,
    CaptureOption,
    ContainerDefinition,
    DataCaptureConfig,
    DeploymentConfig,
    Endpoint,
    EndpointConfig,
    EndpointStatus,
    Model,
    ProductionVariant,
    ShadowProductionVariant,
    TrafficRoutingConfig,
    TrafficRoutingConfigType,
    hosting_arn,
)
from mlops.core.ids import check_name
from mlops.core.training import TrainingJob, TrainingJobStatus
from mlops.deploy.alarms import load_alarms, resolve_alarms
from mlops.hosting.credentials import ControlCredentials
from mlops.hosting.store import HostingStore
from mlops.services.catalog import algorithm_catalog
from mlops.settings import Settings
from mlops.store.interface import open_store

REPO_ALARMS = Path(__file__).resolve().parents[2] / "policies" / "alarms.yaml"
TERMINAL = (EndpointStatus.InService, EndpointStatus.Failed)


def _pydantic(field: str, e: PydanticValidationError) -> ValidationError:
    item = e.errors()[0]
    where = ".".join(str(p) for p in item["loc"])
    return ValidationError(f"{field}.{where}" if where else field, item["msg"].removeprefix("Value error, "))


def key_values(text: str, what: str, known: Sequence[str]) -> dict[str, str]:
    """``a=1,b=2`` → {"a": "1", "b": "2"}, refusing keys outside ``known``."""
    out: dict[str, str] = {}
    for part in (p for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError(what, f"{part!r} is not KEY=VALUE (in {text!r})")
        if key not in known:
            raise ValidationError(what, f"unknown key {key!r} in {text!r}; known: {', '.join(known)}")
        out[key] = value.strip()
    return out


def _number(what: str, value: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise ValidationError(what, f"{value!r} is not a{'n integer' if kind is int else ' number'}") from None


# --- models -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sha256Claim:
    """Who vouches for which sha256 of a model's data: ``--model-sha256``, the training job that packed
    it, the registry version's lineage. ``sha256`` is None when that source records none."""

    source: str
    sha256: str | None


def agreed_sha256(model_data: str, claims: Sequence[Sha256Claim]) -> str:
    """The one sha256 the known claims agree on. None known, or two that differ: refused. It is never
    computed from the file here: that would vouch for whatever bytes happen to be there now."""
    known = [(c.source, check_sha256(c.source, c.sha256)) for c in claims if c.sha256]
    if not known:
        raise ValidationError(
            "--model-sha256",
            f"no sha256 is known for {model_data}, and a model is never served unchecked: give the one you "
            "vouch for with --model-sha256 \"$(sha256sum model.tar.gz | cut -d' ' -f1)\", or create the model "
            "from its training job (--job JOB) or from a registry version (--model-package GROUP/VERSION)",
        )
    first_source, first = known[0]
    for source, sha in known[1:]:
        if sha != first:
            raise ValidationError(
                "ModelDataSha256",
                f"{model_data}: {first_source} gives sha256 {first} but {source} gives {sha}; refusing to create "
                "a model whose bytes its sources disagree on",
            )
    return first


def producing_job(settings: Settings, model_data: str) -> TrainingJob | None:
    """The training job whose artifact ``model_data`` is, if a job of this home produced it."""
    from mlops.services.runtimes import training_runtime

    wanted = {model_data, str(Path(model_data).resolve())} if "://" not in model_data else {model_data}
    for job in training_runtime(settings, "local").list_training_jobs():
        if job.ModelArtifacts is not None and job.ModelArtifacts.S3ModelArtifacts in wanted:
            return job
    return None


def check_model_data_fits(
    settings: Settings, algorithm: str, model_data: str, location: str, job: TrainingJob | None
) -> None:
    """Refuse, when the model is created rather than when its endpoint starts, model data that
    ``algorithm`` cannot serve: an artifact another algorithm's job trained, or (for a local archive) one
    that lacks the files the algorithm's ``ModelArtifactFiles`` names."""
    trained_by = job.AlgorithmSpecification.AlgorithmName if job is not None else None
    if job is not None and trained_by is not None and trained_by != algorithm:
        raise ValidationError(
            "--algorithm",
            f"{model_data} was trained by {trained_by} (training job {job.TrainingJobName}); "
            f"{algorithm} cannot serve it. Use --algorithm {trained_by}, or `--job {job.TrainingJobName}`",
        )
    needed = algorithm_catalog(settings).get(algorithm).InferenceSpecification.ModelArtifactFiles
    if not needed or ("://" in location and not location.startswith("file://")):
        return  # an S3 archive is checked by its server, at start
    from mlops.runtime.packing import top_level_names
    from mlops.store.local import to_path

    held = top_level_names(to_path(location))
    missing = [name for name in needed if name not in held]
    if missing:
        shown = ", ".join(sorted(held)[:8]) or "nothing"
        raise ValidationError(
            "--algorithm",
            f"{model_data} is not a {algorithm} model: it lacks {', '.join(missing)} (it holds {shown}); "
            f"`mlops algorithms describe {algorithm}` says what its model holds",
        )


def job_claim(job: TrainingJob) -> Sha256Claim:
    return Sha256Claim(f"training job {job.TrainingJobName}", job.ModelArtifactSha256)


def create_model(
    settings: Settings,
    name: str,
    model_data: str,
    algorithm: str | None = None,
    image: str | None = None,
    model_sha256: str | None = None,
    environment: dict[str, str] | None = None,
    vouched: Sequence[Sha256Claim] = (),
    feature_encoding: FeatureEncoding | None = None,
    encoding_source: str = "the registry version",
) -> Model:
    """A model record carrying the sha256 its sources vouch for: ``model_sha256``, the claims a caller
    brings (``vouched``: a registry version's lineage …) and the record of the training job that
    produced ``model_data``, if any. They must agree, and at least one must be known. The model records
    the feature encoding of its registry version (``feature_encoding``) or its training job; two known
    encodings that differ are refused."""
    check_name("ModelName", name)
    if algorithm is not None:
        algorithm_catalog(settings).folder(algorithm)
    location = model_data if "://" in model_data else str(Path(model_data).resolve())
    if not open_store(location, settings.s3_endpoint_url).exists(location):
        raise ValidationError("model data", f"{model_data} does not exist")
    job = producing_job(settings, location)
    claims = [Sha256Claim("--model-sha256", model_sha256), *vouched, *([job_claim(job)] if job else [])]
    sha = agreed_sha256(model_data, claims)
    if job is not None:
        require_same_encoding(
            "model data", feature_encoding, job.FeatureEncoding, encoding_source,
            f"training job {job.TrainingJobName}'s encoding",
        )  # fmt: skip
    encoding = feature_encoding or (job.FeatureEncoding if job else None)
    if algorithm is not None:
        check_model_data_fits(settings, algorithm, model_data, location, job)
    try:
        model = Model(
            ModelName=name,
            ModelArn=hosting_arn("model", name),
            PrimaryContainer=ContainerDefinition(
                AlgorithmName=algorithm, Image=image, ModelDataUrl=location, Environment=environment or {}
            ),
            ModelDataSha256=sha,
            CreationTime=utcnow(),
            FeatureEncoding=encoding,
        )
    except PydanticValidationError as e:
        raise _pydantic("model", e) from None
    return HostingStore(settings.home).create_model(model)


def create_model_from_job(
    settings: Settings,
    name: str,
    job_name: str,
    algorithm: str | None = None,
    image: str | None = None,
    model_sha256: str | None = None,
    environment: dict[str, str] | None = None,
) -> Model:
    """A model of a Completed training job's artifact, with the sha256 the job recorded when it packed it
    and, unless ``algorithm`` or ``image`` says otherwise, the algorithm or image that trained it."""
    from mlops.services.runtimes import training_runtime

    job = training_runtime(settings, "local").describe_training_job(job_name)
    if job.TrainingJobStatus is not TrainingJobStatus.Completed or job.ModelArtifacts is None:
        raise ValidationError(
            "--job", f"training job {job_name} is {job.TrainingJobStatus.value}; only a Completed job has a model"
        )
    if job.ModelArtifactSha256 is None and model_sha256 is None:
        raise ValidationError(
            "--job",
            f"training job {job_name} recorded no sha256 of its artifact (an older version ran it); give the one "
            "you vouch for with --model-sha256",
        )
    if algorithm is None and image is None:
        spec = job.AlgorithmSpecification
        algorithm, image = spec.AlgorithmName, None if spec.AlgorithmName else spec.TrainingImage
    return create_model(
        settings,
        name,
        job.ModelArtifacts.S3ModelArtifacts,
        algorithm,
        image,
        model_sha256,
        environment,
        vouched=[job_claim(job)],
    )


def delete_model(settings: Settings, name: str) -> None:
    store = HostingStore(settings.home)
    store.model(name)
    users = [c.EndpointConfigName for c in store.endpoint_configs() if name in c.model_names]
    if users:
        raise ConflictError(f"model {name!r} is used by endpoint config(s) {', '.join(users)}")
    store.delete_model(name)


# --- endpoint configs -------------------------------------------------------------------------------

VARIANT_KEYS = ("name", "model", "weight", "instances")
SHADOW_KEYS = ("name", "model", "sampling", "instances")
CAPTURE_KEYS = ("sampling", "dest", "mode", "csv", "json")


def parse_variant(text: str) -> ProductionVariant:
    """``name=blue,model=churn-v1,weight=1,instances=2``."""
    spec = key_values(text, "--variant", VARIANT_KEYS)
    if "name" not in spec or "model" not in spec:
        raise ValidationError("--variant", f"{text!r} needs name=… and model=…")
    try:
        return ProductionVariant(
            VariantName=check_name("VariantName", spec["name"]),
            ModelName=spec["model"],
            InitialVariantWeight=_number("weight", spec.get("weight", "1"), float),
            InitialInstanceCount=_number("instances", spec.get("instances", "1"), int),
        )
    except PydanticValidationError as e:
        raise _pydantic("--variant", e) from None


def parse_shadow(text: str) -> ShadowProductionVariant:
    """``name=green,model=churn-v2,sampling=20,instances=1`` (sampling in percent of the requests)."""
    spec = key_values(text, "--shadow", SHADOW_KEYS)
    if "name" not in spec or "model" not in spec:
        raise ValidationError("--shadow", f"{text!r} needs name=… and model=…")
    try:
        return ShadowProductionVariant(
            VariantName=check_name("VariantName", spec["name"]),
            ModelName=spec["model"],
            SamplingPercentage=_number("sampling", spec.get("sampling", "100").rstrip("%"), float),
            InitialInstanceCount=_number("instances", spec.get("instances", "1"), int),
        )
    except PydanticValidationError as e:
        raise _pydantic("--shadow", e) from None


def parse_capture(text: str, settings: Settings) -> DataCaptureConfig:
    """``sampling=100,dest=DIR|s3://…,mode=input+output,csv=text/csv,json=application/json``; like the
    SageMaker SDK, CSV and JSON payloads are captured as text (``csv=``/``json=`` name their types)."""
    spec = key_values(text, "--capture", CAPTURE_KEYS)
    dest = spec.get("dest") or str(settings.home / "capture")
    if "://" not in dest:
        dest = str(Path(dest).resolve())
    modes = []
    for mode in spec.get("mode", "input+output").replace("|", "+").split("+"):
        if mode.strip().lower() not in ("input", "output"):
            raise ValidationError("--capture", f"mode {mode!r}: use input, output or input+output")
        modes.append(CaptureOption(CaptureMode=CaptureMode(mode.strip().capitalize())))
    try:
        return DataCaptureConfig(
            EnableCapture=True,
            InitialSamplingPercentage=_number("sampling", spec.get("sampling", "100").rstrip("%"), float),
            DestinationS3Uri=dest,
            CaptureOptions=tuple(modes),
            CaptureContentTypeHeader=CaptureContentTypeHeader(
                CsvContentTypes=tuple(t for t in spec.get("csv", "text/csv").split("+") if t),
                JsonContentTypes=tuple(
                    t for t in spec.get("json", "application/json+application/jsonlines").split("+") if t
                ),
            ),
        )
    except PydanticValidationError as e:
        raise _pydantic("--capture", e) from None


def create_endpoint_config(
    settings: Settings,
    name: str,
    variants: Sequence[ProductionVariant],
    shadows: Sequence[ShadowProductionVariant] = (),
    capture: DataCaptureConfig | None = None,
) -> EndpointConfig:
    check_name("EndpointConfigName", name)
    store = HostingStore(settings.home)
    for model_name in [v.ModelName for v in variants] + [s.ModelName for s in shadows]:
        store.model(model_name)
    refuse_mixed_encodings(store, variants, shadows)
    try:
        config = EndpointConfig(
            EndpointConfigName=name,
            EndpointConfigArn=hosting_arn("endpoint-config", name),
            ProductionVariants=tuple(variants),
            ShadowProductionVariants=tuple(shadows),
            DataCaptureConfig=capture,
            CreationTime=utcnow(),
        )
    except PydanticValidationError as e:
        raise _pydantic("endpoint config", e) from None
    return store.create_endpoint_config(config)


def refuse_mixed_encodings(
    store: HostingStore, variants: Sequence[ProductionVariant], shadows: Sequence[ShadowProductionVariant]
) -> None:
    """Every variant and shadow of one config gets the same request body, so their models must read the
    same feature columns. Refused here, once, rather than answered wrongly per request; models whose
    encoding is unknown are not compared."""
    known: tuple[str, str, FeatureEncoding] | None = None
    named = [("--variant", v.VariantName, v.ModelName) for v in variants]
    named += [("--shadow", s.VariantName, s.ModelName) for s in shadows]
    for flag, variant, model in named:
        encoding = store.model(model).FeatureEncoding
        if encoding is None:
            continue
        if known is None:
            known = (variant, model, encoding)
            continue
        first_variant, first_model, first = known
        difference = first_difference(encoding, first, f"model {model}'s encoding", f"model {first_model}'s encoding")
        if difference is not None:
            raise ValidationError(
                f"{flag} {variant}",
                f"{difference} (variant {first_variant}); the variants of an endpoint receive the same requests, "
                "so their models must be trained on data encoded one way",
            )


def delete_endpoint_config(settings: Settings, name: str) -> None:
    store = HostingStore(settings.home)
    store.endpoint_config(name)
    users = [e.EndpointName for e in store.endpoints() if name == e.EndpointConfigName]
    if users:
        raise ConflictError(f"endpoint config {name!r} is in use by endpoint(s) {', '.join(users)}")
    store.delete_endpoint_config(name)


# --- deployment configs -----------------------------------------------------------------------------


def capacity(text: str, what: str) -> CapacitySize:
    """``10%`` → CAPACITY_PERCENT 10; ``2`` → INSTANCE_COUNT 2."""
    value = text.strip()
    if value.endswith("%"):
        return CapacitySize(Type=CapacitySizeType.CAPACITY_PERCENT, Value=_number(what, value[:-1], int))
    return CapacitySize(Type=CapacitySizeType.INSTANCE_COUNT, Value=_number(what, value, int))


def deployment_config(
    strategy: str = "all-at-once",
    canary_size: str | None = None,
    linear_step: str | None = None,
    wait_interval: int = 0,
    termination_wait: int = 0,
    max_timeout: int | None = None,
    alarms: Sequence[str] = (),
) -> DeploymentConfig:
    kinds = {
        "all-at-once": TrafficRoutingConfigType.ALL_AT_ONCE,
        "canary": TrafficRoutingConfigType.CANARY,
        "linear": TrafficRoutingConfigType.LINEAR,
    }
    if strategy.lower() not in kinds:
        raise ValidationError("--strategy", f"{strategy!r}: use all-at-once, canary or linear")
    kind = kinds[strategy.lower()]
    try:
        routing = TrafficRoutingConfig(
            Type=kind,
            WaitIntervalInSeconds=wait_interval,
            CanarySize=capacity(canary_size or "10%", "--canary-size")
            if kind is TrafficRoutingConfigType.CANARY
            else None,
            LinearStepSize=capacity(linear_step or "20%", "--linear-step")
            if kind is TrafficRoutingConfigType.LINEAR
            else None,
        )
        return DeploymentConfig(
            BlueGreenUpdatePolicy=BlueGreenUpdatePolicy(
                TrafficRoutingConfiguration=routing,
                TerminationWaitInSeconds=termination_wait,
                MaximumExecutionTimeoutInSeconds=max_timeout,
            ),
            AutoRollbackConfiguration=AutoRollbackConfig(Alarms=tuple(Alarm(AlarmName=a) for a in alarms))
            if alarms
            else None,
        )
    except PydanticValidationError as e:
        raise _pydantic("DeploymentConfig", e) from None


def default_alarms_file() -> Path:
    local = Path("policies") / "alarms.yaml"
    return local if local.is_file() else REPO_ALARMS


# --- the control API --------------------------------------------------------------------------------


class ControlProcessUnavailable(MlopsError):
    """No control process answers on the router's address."""


class ControlAccessDenied(MlopsError):
    """The control process refused the call: not this home's credentials, or a refused Host/Origin."""


@dataclass(frozen=True)
class ControlHealth:
    pid: int
    endpoints: int


class HostingClient:
    """The control API of a running ``mlops router``, called with its home's credentials."""

    def __init__(self, url: str, credentials: ControlCredentials, timeout: float = 150.0) -> None:
        # the default timeout is long: a delete drains the requests in flight
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout

    @classmethod
    def for_settings(cls, settings: Settings, timeout: float = 150.0) -> HostingClient:
        return cls(
            f"http://{settings.router_host}:{settings.router_port}", ControlCredentials.for_home(settings.home), timeout
        )

    def call(self, action: str, payload: dict[str, Any] | None = None) -> Any:
        return self._send("POST", action, json.dumps(payload or {}).encode())

    def health(self) -> ControlHealth:
        """The control process's pid and endpoint count (``GET /_control/health``)."""
        answer = self._send("GET", "health", None)
        try:
            return ControlHealth(int(answer["pid"]), int(answer["endpoints"]))
        except (TypeError, KeyError, ValueError):
            raise ControlProcessUnavailable(f"{self.url} answered /_control/health with {answer!r}") from None

    def _send(self, method: str, action: str, data: bytes | None) -> Any:
        headers = {"Authorization": self.credentials.authorization()}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.url}/_control/{action}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            try:
                body = json.loads(e.read())
                kind, message = body.get("__type", ""), body.get("message", "")
            except ValueError:
                kind, message = "", f"HTTP {e.code}"
            if e.code == 404:
                raise MlopsError(message) from None
            if e.code == 409:
                raise ConflictError(message) from None
            if e.code in (401, 403, 421):
                raise ControlAccessDenied(
                    f"the control process on {self.url} refused the call (credentials {self.credentials.path}): "
                    f"{message or f'HTTP {e.code}'}"
                ) from None
            raise ValidationError(kind or "request", message) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as e:
            raise ControlProcessUnavailable(
                f"no control process answers on {self.url} ({getattr(e, 'reason', e)}); start it with `mlops router`"
            ) from None
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise ControlProcessUnavailable(f"{self.url} is not a control process (its answer is not JSON)") from None

    def create_endpoint(self, name: str, config: str) -> Endpoint:
        return Endpoint.model_validate(
            self.call("CreateEndpoint", {"EndpointName": name, "EndpointConfigName": config})
        )

    def update_endpoint(
        self,
        name: str,
        config: str,
        deployment: DeploymentConfig | None,
        alarms_file: Path | None = None,
        retain_variant_properties: bool = False,
    ) -> Endpoint:
        definitions: tuple[AlarmDefinition, ...] = ()
        if deployment is not None and deployment.alarm_names:
            path = alarms_file or default_alarms_file()
            definitions = resolve_alarms(deployment.alarm_names, load_alarms(path), str(path))
        payload = {
            "EndpointName": name,
            "EndpointConfigName": config,
            "DeploymentConfig": deployment.model_dump(mode="json") if deployment else None,
            "RetainAllVariantProperties": retain_variant_properties,
            "AlarmDefinitions": [a.model_dump(mode="json") for a in definitions],
        }
        return Endpoint.model_validate(self.call("UpdateEndpoint", payload))

    def update_weights(self, name: str, weights: dict[str, float], counts: dict[str, int]) -> Endpoint:
        items = [
            {"VariantName": v, "DesiredWeight": weights.get(v), "DesiredInstanceCount": counts.get(v)}
            for v in dict.fromkeys([*weights, *counts])
        ]
        return Endpoint.model_validate(
            self.call(
                "UpdateEndpointWeightsAndCapacities", {"EndpointName": name, "DesiredWeightsAndCapacities": items}
            )
        )

    def describe(self, name: str) -> Endpoint:
        return Endpoint.model_validate(self.call("DescribeEndpoint", {"EndpointName": name}))

    def list(self) -> list[Endpoint]:
        return [Endpoint.model_validate(e) for e in self.call("ListEndpoints")]

    def delete(self, name: str) -> None:
        self.call("DeleteEndpoint", {"EndpointName": name})

    def wait(
        self,
        name: str,
        until: Callable[[Endpoint], bool] = lambda e: e.EndpointStatus in TERMINAL,
        on_change: Callable[[Endpoint], None] | None = None,
        timeout: float = 3600.0,
        poll_seconds: float = 0.25,
    ) -> Endpoint:
        deadline = time.monotonic() + timeout
        last: tuple[object, ...] | None = None
        while True:
            endpoint = self.describe(name)
            seen = (endpoint.EndpointStatus, endpoint.CurrentDeploymentStep, endpoint.EndpointConfigName)
            if on_change is not None and seen != last:
                on_change(endpoint)
            last = seen
            if until(endpoint):
                return endpoint
            if time.monotonic() > deadline:
                raise MlopsError(f"endpoint {name} is still {endpoint.EndpointStatus.value} after {timeout:g}s")
            time.sleep(poll_seconds)


def parse_weights(items: Sequence[str]) -> tuple[dict[str, float], dict[str, int]]:
    """``blue=0.8`` (a weight) or ``blue=0.8:3`` / ``blue=:3`` (weight and/or instance count)."""
    weights: dict[str, float] = {}
    counts: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValidationError("--variant", f"{item!r} is not VARIANT=WEIGHT[:INSTANCES]")
        weight, _, count = value.partition(":")
        if weight:
            weights[name] = _number("--variant", weight, float)
        if count:
            counts[name] = _number("--variant", count, int)
    return weights, counts


def endpoint_from_store(settings: Settings, name: str) -> Endpoint:
    """The last recorded state, for when no control process runs."""
    return HostingStore(settings.home).endpoint(name)


def endpoints_from_store(settings: Settings) -> list[Endpoint]:
    return HostingStore(settings.home).endpoints()


# --- invocations ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvokeResult:
    status: int
    body: bytes
    content_type: str
    variant: str | None
    error: str | None


def invoke(
    settings: Settings,
    endpoint: str,
    body: bytes,
    content_type: str = "text/csv",
    accept: str | None = None,
    target_variant: str | None = None,
    custom_attributes: str | None = None,
    inference_id: str | None = None,
    timeout: float = 70.0,
) -> InvokeResult:
    headers = {"Content-Type": content_type}
    if accept:
        headers["Accept"] = accept
    if target_variant:
        headers["X-Amzn-SageMaker-Target-Variant"] = target_variant
    if custom_attributes:
        headers["X-Amzn-SageMaker-Custom-Attributes"] = custom_attributes
    if inference_id:
        headers["X-Amzn-SageMaker-Inference-Id"] = inference_id
    url = f"http://{settings.router_host}:{settings.router_port}/endpoints/{endpoint}/invocations"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return InvokeResult(
                response.status,
                response.read(),
                response.headers.get("Content-Type", ""),
                response.headers.get("x-Amzn-Invoked-Production-Variant"),
                None,
            )
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            message = str(json.loads(raw).get("Message", raw.decode(errors="replace")))
        except ValueError:
            message = raw.decode(errors="replace")
        return InvokeResult(
            e.code,
            raw,
            e.headers.get("Content-Type", ""),
            e.headers.get("x-Amzn-Invoked-Production-Variant"),
            f"{e.headers.get('x-amzn-ErrorType', 'HTTP ' + str(e.code))}: {message}",
        )
    except (urllib.error.URLError, ConnectionError) as e:
        raise ControlProcessUnavailable(
            f"the router does not answer on {settings.router_host}:{settings.router_port} ({getattr(e, 'reason', e)})"
            "; start it with `mlops router`"
        ) from None


# --- the control process ----------------------------------------------------------------------------


def run_router(
    settings: Settings,
    runtime: str = "local",
    workers: int = 1,
    model_timeout: float = 60.0,
    health_interval: float = 1.0,
    ping_timeout: float = 2.0,
    log: Callable[[str], None] = print,
) -> int:
    from mlops.hosting.http_limits import HttpLimits
    from mlops.hosting.process import ControlOptions, run_control_process
    from mlops.services.runtimes import server_runtime

    options = ControlOptions(
        host=settings.router_host,
        port=settings.router_port,
        model_timeout=model_timeout,
        health_interval=health_interval,
        ping_timeout=ping_timeout,
        capture_queue_bytes=settings.capture_queue_bytes,
        s3_endpoint_url=settings.s3_endpoint_url,
        allowed_hosts=tuple(h.strip() for h in settings.router_allowed_hosts.split(",") if h.strip()),
        limits=HttpLimits(
            header_timeout=settings.router_header_timeout_seconds,
            body_timeout=settings.router_body_timeout_seconds,
            keep_alive_timeout=settings.router_keep_alive_seconds,
            max_header_bytes=settings.router_max_header_bytes,
            max_connections=settings.router_max_connections,
        ),
        max_concurrency=settings.router_max_concurrency,
        max_response_bytes=settings.router_max_response_bytes,
    )
    return run_control_process(settings.home, server_runtime(settings, runtime, workers), options, log)
