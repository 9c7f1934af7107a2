"""Hosting use cases: models and endpoint configs (records in the hosting store, no process needed) and
the deployment configs an endpoint update applies. Each takes its collaborators as arguments (the
hosting store, the catalog, the training jobs, the object stores): ``services/hosting_wiring.py`` builds
them from settings, ``services/control_client.py`` calls the running router, ``cli/hosting_flags.py``
parses the CLI's specs.

Who writes what: models and endpoint configs are immutable records the CLI writes directly; endpoints
belong to the control process (``mlops router``), which the CLI drives over its loopback control API and
which persists every endpoint after every move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError as PydanticValidationError

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.clock import utcnow
from mlops.core.datasets import FeatureEncoding
from mlops.core.digests import check_sha256
from mlops.core.encodings import first_difference, require_same_encoding
from mlops.core.errors import ConflictError, ValidationError
from mlops.core.hosting import (
    Alarm,
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
    EndpointConfig,
    Model,
    ProductionVariant,
    ShadowProductionVariant,
    TrafficRoutingConfig,
    TrafficRoutingConfigType,
    hosting_arn,
)
from mlops.core.ids import check_name
from mlops.core.key_value import parse_number
from mlops.core.training import TrainingJob, TrainingJobStatus
from mlops.hosting.store import HostingStore
from mlops.store.interface import ArtifactStore

REPO_ALARMS = Path(__file__).resolve().parents[2] / "policies" / "alarms.yaml"


class TrainingJobs(Protocol):
    """The reads a model needs of this home's training jobs (a training runtime has them)."""

    def list_training_jobs(self) -> list[TrainingJob]: ...

    def describe_training_job(self, name: str) -> TrainingJob: ...


@dataclass(frozen=True)
class Hosting:
    """What the model use cases work with: the hosting store, the algorithm catalog, the training jobs a
    model's data may come from, the object store holding a location, and the clock."""

    store: HostingStore
    catalog: AlgorithmCatalog
    training_jobs: TrainingJobs
    object_store: Callable[[str], ArtifactStore]
    clock: Callable[[], datetime] = utcnow


def pydantic_error(field: str, e: PydanticValidationError) -> ValidationError:
    """A record's pydantic refusal as our ValidationError, naming ``field`` and the failing key."""
    item = e.errors()[0]
    where = ".".join(str(p) for p in item["loc"])
    return ValidationError(f"{field}.{where}" if where else field, item["msg"].removeprefix("Value error, "))


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


def producing_job(training_jobs: TrainingJobs, model_data: str) -> TrainingJob | None:
    """The training job whose artifact ``model_data`` is, if a job of this home produced it."""
    wanted = {model_data, str(Path(model_data).resolve())} if "://" not in model_data else {model_data}
    for job in training_jobs.list_training_jobs():
        if job.ModelArtifacts is not None and job.ModelArtifacts.S3ModelArtifacts in wanted:
            return job
    return None


def check_model_data_fits(
    catalog: AlgorithmCatalog, algorithm: str, model_data: str, location: str, job: TrainingJob | None
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
    needed = catalog.get(algorithm).InferenceSpecification.ModelArtifactFiles
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
    hosting: Hosting,
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
        hosting.catalog.folder(algorithm)
    location = model_data if "://" in model_data else str(Path(model_data).resolve())
    if not hosting.object_store(location).exists(location):
        raise ValidationError("model data", f"{model_data} does not exist")
    job = producing_job(hosting.training_jobs, location)
    claims = [Sha256Claim("--model-sha256", model_sha256), *vouched, *([job_claim(job)] if job else [])]
    sha = agreed_sha256(model_data, claims)
    if job is not None:
        require_same_encoding(
            "model data", feature_encoding, job.FeatureEncoding, encoding_source,
            f"training job {job.TrainingJobName}'s encoding",
        )  # fmt: skip
    encoding = feature_encoding or (job.FeatureEncoding if job else None)
    if algorithm is not None:
        check_model_data_fits(hosting.catalog, algorithm, model_data, location, job)
    try:
        model = Model(
            ModelName=name,
            ModelArn=hosting_arn("model", name),
            PrimaryContainer=ContainerDefinition(
                AlgorithmName=algorithm, Image=image, ModelDataUrl=location, Environment=environment or {}
            ),
            ModelDataSha256=sha,
            CreationTime=hosting.clock(),
            FeatureEncoding=encoding,
        )
    except PydanticValidationError as e:
        raise pydantic_error("model", e) from None
    return hosting.store.create_model(model)


def create_model_from_job(
    hosting: Hosting,
    name: str,
    job_name: str,
    algorithm: str | None = None,
    image: str | None = None,
    model_sha256: str | None = None,
    environment: dict[str, str] | None = None,
) -> Model:
    """A model of a Completed training job's artifact, with the sha256 the job recorded when it packed it
    and, unless ``algorithm`` or ``image`` says otherwise, the algorithm or image that trained it."""
    job = hosting.training_jobs.describe_training_job(job_name)
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
        hosting,
        name,
        job.ModelArtifacts.S3ModelArtifacts,
        algorithm,
        image,
        model_sha256,
        environment,
        vouched=[job_claim(job)],
    )


def delete_model(store: HostingStore, name: str) -> None:
    store.model(name)
    users = [c.EndpointConfigName for c in store.endpoint_configs() if name in c.model_names]
    if users:
        raise ConflictError(f"model {name!r} is used by endpoint config(s) {', '.join(users)}")
    store.delete_model(name)


# --- endpoint configs -------------------------------------------------------------------------------


def create_endpoint_config(
    store: HostingStore,
    name: str,
    variants: Sequence[ProductionVariant],
    shadows: Sequence[ShadowProductionVariant] = (),
    capture: DataCaptureConfig | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> EndpointConfig:
    check_name("EndpointConfigName", name)
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
            CreationTime=clock(),
        )
    except PydanticValidationError as e:
        raise pydantic_error("endpoint config", e) from None
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


def delete_endpoint_config(store: HostingStore, name: str) -> None:
    store.endpoint_config(name)
    users = [e.EndpointName for e in store.endpoints() if name == e.EndpointConfigName]
    if users:
        raise ConflictError(f"endpoint config {name!r} is in use by endpoint(s) {', '.join(users)}")
    store.delete_endpoint_config(name)


def capture_config(
    destination: str,
    sampling: float = 100.0,
    modes: Sequence[CaptureMode] = (CaptureMode.Input, CaptureMode.Output),
    csv_types: Sequence[str] = ("text/csv",),
    json_types: Sequence[str] = ("application/json", "application/jsonlines"),
) -> DataCaptureConfig:
    """Data capture of ``sampling`` percent of the requests to ``destination`` (a folder or s3:// prefix);
    like the SageMaker SDK, CSV and JSON payloads are captured as text (``csv_types``/``json_types``)."""
    if "://" not in destination:
        destination = str(Path(destination).resolve())
    try:
        return DataCaptureConfig(
            EnableCapture=True,
            InitialSamplingPercentage=sampling,
            DestinationS3Uri=destination,
            CaptureOptions=tuple(CaptureOption(CaptureMode=mode) for mode in modes),
            CaptureContentTypeHeader=CaptureContentTypeHeader(
                CsvContentTypes=tuple(csv_types), JsonContentTypes=tuple(json_types)
            ),
        )
    except PydanticValidationError as e:
        raise pydantic_error("--capture", e) from None


# --- deployment configs -----------------------------------------------------------------------------


def capacity(text: str, what: str) -> CapacitySize:
    """``10%`` → CAPACITY_PERCENT 10; ``2`` → INSTANCE_COUNT 2."""
    value = text.strip()
    if value.endswith("%"):
        return CapacitySize(Type=CapacitySizeType.CAPACITY_PERCENT, Value=parse_number(what, value[:-1], int))
    return CapacitySize(Type=CapacitySizeType.INSTANCE_COUNT, Value=parse_number(what, value, int))


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
        raise pydantic_error("DeploymentConfig", e) from None


def default_alarms_file() -> Path:
    local = Path("policies") / "alarms.yaml"
    return local if local.is_file() else REPO_ALARMS
