"""Training use case: turn what a user asks for into a validated CreateTrainingJob request, start it
on a runtime and follow it to the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.algorithm import AlgorithmSpec, validate_channels, validate_hyperparameters
from mlops.core.errors import ValidationError
from mlops.core.ids import check_name, unique_job_name
from mlops.core.training import (
    AlgorithmSpecification,
    Channel,
    DataSource,
    MetricDefinition,
    OutputDataConfig,
    ResourceConfig,
    S3DataSource,
    StoppingCondition,
    TrainingInputMode,
    TrainingJob,
    TrainingJobRequest,
)
from mlops.runtime.interface import TrainingRuntime
from mlops.services.encodings import channels_encoding
from mlops.services.label_first_csv import first_channel_file, is_text_csv, refuse_unless_label_first


@dataclass(frozen=True)
class TrainingInput:
    """A training job as a user describes it: an algorithm (or any contract image), channels and
    hyperparameters. With ``image`` and no catalog algorithm, nothing but names and paths can be checked
    and ``metric_definitions`` (name -> regex) say which metrics to read from the log."""

    algorithm: str | None
    channels: dict[str, str]  # channel name -> local path, file:// or s3:// URI
    hyperparameters: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/csv"
    input_mode: TrainingInputMode = TrainingInputMode.File
    job_name: str | None = None
    image: str | None = None
    resources: ResourceConfig = field(default_factory=ResourceConfig)
    max_runtime_seconds: int = 86400
    environment: dict[str, str] = field(default_factory=dict)
    network_isolation: bool = True
    metric_definitions: dict[str, str] = field(default_factory=dict)


def _channel_uri(name: str, location: str, content_type: str) -> str:
    if "://" in location and not location.startswith("file://"):
        return location  # s3:// objects are never read here: the job reads them
    local = "://" not in location
    path = Path(location.removeprefix("file://"))
    if local and not path.exists():
        raise ValidationError(f"channel {name}", f"{location} does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise ValidationError(f"channel {name}", f"{location} is empty")
    if is_text_csv(content_type):
        _refuse_a_header(name, path)
    return str(path.resolve()) if local else location


def _refuse_a_header(name: str, path: Path) -> None:
    """A table with a header row (what `mlops data ingest` takes) given where a split belongs: refused from
    the first line of the first file, before the job starts."""
    first = first_channel_file(path)
    if first is not None:
        refuse_unless_label_first(
            first,
            f"channel {name}",
            "ingest the table with `mlops data ingest NAME --source FILE`, then `mlops data split NAME` writes "
            "the train/validation/test files",
        )


def build_request(spec: AlgorithmSpec, inp: TrainingInput, artifact_root: str) -> TrainingJobRequest:
    """Validate against the algorithm's specification before anything starts."""
    hyperparameters = validate_hyperparameters(spec, inp.hyperparameters)
    validate_channels(spec, {name: inp.content_type for name in inp.channels})
    for cs in spec.TrainingSpecification.TrainingChannels:
        if cs.Name in inp.channels and inp.input_mode not in cs.SupportedInputModes:
            raise ValidationError(f"channel {cs.Name}", f"input mode {inp.input_mode.value} is not supported")
    name = check_name("job name", inp.job_name) if inp.job_name else unique_job_name(spec.AlgorithmName)
    algorithm = AlgorithmSpecification(
        AlgorithmName=spec.AlgorithmName,
        TrainingImage=inp.image,
        TrainingInputMode=inp.input_mode,
        MetricDefinitions=spec.TrainingSpecification.MetricDefinitions,
    )
    return _job_request(inp, name, algorithm, hyperparameters, artifact_root)


def build_image_request(inp: TrainingInput, artifact_root: str) -> TrainingJobRequest:
    """Bring your own container: an image with no specification in the catalog."""
    if not inp.image:
        raise ValidationError("image", "name an image that follows the SageMaker container contract")
    name = (
        check_name("job name", inp.job_name)
        if inp.job_name
        else unique_job_name(inp.image.split("/")[-1].split(":")[0])
    )
    algorithm = AlgorithmSpecification(
        TrainingImage=inp.image,
        TrainingInputMode=inp.input_mode,
        MetricDefinitions=tuple(MetricDefinition(Name=n, Regex=r) for n, r in inp.metric_definitions.items()),
    )
    return _job_request(inp, name, algorithm, inp.hyperparameters, artifact_root)


def _job_request(
    inp: TrainingInput,
    name: str,
    algorithm: AlgorithmSpecification,
    hyperparameters: dict[str, str],
    artifact_root: str,
) -> TrainingJobRequest:
    channels = tuple(
        Channel(
            ChannelName=check_name("channel", c),
            ContentType=inp.content_type,
            InputMode=inp.input_mode,
            DataSource=DataSource(S3DataSource=S3DataSource(S3Uri=_channel_uri(c, location, inp.content_type))),
        )
        for c, location in inp.channels.items()
    )
    return TrainingJobRequest(
        TrainingJobName=name,
        AlgorithmSpecification=algorithm,
        HyperParameters=hyperparameters,
        InputDataConfig=channels,
        OutputDataConfig=OutputDataConfig(S3OutputPath=artifact_root),
        ResourceConfig=inp.resources,
        StoppingCondition=StoppingCondition(MaxRuntimeInSeconds=inp.max_runtime_seconds),
        Environment=inp.environment,
        EnableNetworkIsolation=inp.network_isolation,
        FeatureEncoding=channels_encoding(inp.channels),
    )


def start_training(
    runtime: TrainingRuntime, catalog: AlgorithmCatalog, inp: TrainingInput, artifact_root: str
) -> TrainingJob:
    if inp.image and (inp.algorithm is None or inp.algorithm not in catalog.names()):
        request = build_image_request(inp, artifact_root)
    elif inp.algorithm is None:
        raise ValidationError("algorithm", "name an algorithm (see `mlops algorithms`) or an --image")
    else:
        request = build_request(catalog.get(inp.algorithm), inp, artifact_root)
    return runtime.create_training_job(request)


def train(
    runtime: TrainingRuntime,
    catalog: AlgorithmCatalog,
    inp: TrainingInput,
    artifact_root: str,
    on_change: Callable[[TrainingJob], None] | None = None,
) -> TrainingJob:
    """Start a job and wait for it to end; ``on_change`` sees each status transition."""
    job = start_training(runtime, catalog, inp, artifact_root)
    return runtime.wait(job.TrainingJobName, on_change)
