"""Monitoring use cases: make a baseline from a dataset, write a schedule, run a schedule's monitors over a
window of captured traffic (then alert and decide on retraining), upload ground truth, list runs.

State lives under HOME/monitoring: ``baselines/<name>/``, ``schedules/<name>.yaml``,
``runs/<endpoint>/<run>/`` (run.json, violations.json, report.html), ``ground-truth/<endpoint>/``,
``alerts/`` (open incidents, outbox) and ``retrain/`` (cooldown state). Alert targets: HOME/alerting.yaml.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.core.clock import utcnow
from mlops.core.datasets import DatasetSplit, DatasetVersion, SplitPart
from mlops.core.errors import MlopsError, NotFoundError, ValidationError
from mlops.core.home import MonitoringHome
from mlops.core.hosting import Model
from mlops.core.ids import check_name
from mlops.core.monitoring import (
    AlertDelivery,
    BaselineRows,
    BiasConfig,
    CapturedColumns,
    MonitoringRun,
    MonitoringSchedule,
    MonitoringType,
    MonitorSpec,
    ScheduleConfig,
    Severity,
    rate_expression,
)
from mlops.core.training import TrainingJob
from mlops.data import formats
from mlops.data.dataset_store import DatasetStore
from mlops.hosting.store import HostingStore
from mlops.monitoring import ground_truth
from mlops.monitoring.baseline import Baseline, BaselineStore, bias_baseline, suggest_baseline
from mlops.monitoring.models import MonitoredModel, UnknownModelFormat, load_model_bytes
from mlops.monitoring.notify import Notifier
from mlops.monitoring.notify_targets import load_alerting
from mlops.monitoring.retrain import RetrainState, decide_for_run
from mlops.monitoring.runner import run_monitors
from mlops.monitoring.schedule import MonitoringWindow, load_schedules, save_schedule, window_ending
from mlops.monitoring.window import load_capture_window
from mlops.runtime.job_store import JobStore
from mlops.services.encodings import KnownEncoding, model_encoding, refuse_mismatch
from mlops.store.interface import ArtifactStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Monitoring:
    """What the monitoring use cases work with: their folders and baselines, the hosting store (endpoints
    and their models), the training jobs and datasets a model's lineage names, the object stores holding
    models, and the clock. ``services/monitoring_wiring.py`` builds it from settings."""

    folders: MonitoringHome
    alerting: Path  # alerting.yaml: where alerts go
    baselines: BaselineStore
    hosting: HostingStore
    training_jobs: JobStore
    datasets: DatasetStore
    object_store: Callable[[str], ArtifactStore]
    algorithms_dir: Path
    s3_endpoint_url: str | None = None  # captures and labels are read through it
    clock: Callable[[], datetime] = utcnow


def ground_truth_location(monitoring: Monitoring, endpoint: str, schedule: MonitoringSchedule | None = None) -> str:
    if schedule is not None and schedule.GroundTruthS3Uri:
        return schedule.GroundTruthS3Uri
    return str(monitoring.folders.ground_truth_of(endpoint))


def parse_duration(text: str, what: str) -> timedelta:
    """``30m`` / ``1h`` / ``2d`` / ``90s``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip()
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit():
        raise ValidationError(what, f"{text!r}: use a count and a unit: 90s, 30m, 1h, 2d")
    return timedelta(seconds=int(value[:-1]) * units[value[-1]])


# --- models ------------------------------------------------------------------------------------------


def resolve_model_uri(monitoring: Monitoring, ref: str) -> str:
    """A model.tar.gz location from a path or URI, a hosting model name, or a training job name."""
    if "://" in ref or Path(ref).exists():
        return ref if "://" in ref else str(Path(ref).resolve())
    hosting = monitoring.hosting
    try:
        return hosting.model(ref).PrimaryContainer.ModelDataUrl
    except NotFoundError:
        pass
    try:
        job: TrainingJob | None = monitoring.training_jobs.load(ref)
    except (ValidationError, NotFoundError):  # not a training job's name, or no such job
        job = None
    if job is not None:
        if job.ModelArtifacts is None:
            raise ValidationError("--model", f"training job {ref!r} has no model artifacts ({job.TrainingJobStatus})")
        return job.ModelArtifacts.S3ModelArtifacts
    raise ValidationError("--model", f"{ref!r} is not a file, a model (mlops models) or a training job (mlops jobs)")


def load_model(monitoring: Monitoring, uri: str) -> MonitoredModel:
    try:
        data = monitoring.object_store(uri).get_bytes(uri)
    except MlopsError:
        raise
    except Exception as e:
        raise ValidationError("model", f"{uri}: could not be read ({type(e).__name__}: {e})") from None
    return load_model_bytes(data, uri, monitoring.algorithms_dir)


def endpoint_model(monitoring: Monitoring, endpoint: str, variant: str | None = None) -> Model | None:
    """The model behind the endpoint's variant (default: its production variant with the largest weight)."""
    hosting = monitoring.hosting
    try:
        record = hosting.endpoint(endpoint)
        config = hosting.endpoint_config(record.EndpointConfigName)
    except NotFoundError:
        return None
    variants = sorted(config.ProductionVariants, key=lambda v: -v.InitialVariantWeight)
    chosen = next((v for v in variants if v.VariantName == variant), variants[0] if variants else None)
    if chosen is None:
        return None
    return hosting.model(chosen.ModelName)


def endpoint_model_uri(monitoring: Monitoring, endpoint: str, variant: str | None = None) -> str | None:
    model = endpoint_model(monitoring, endpoint, variant)
    return model.PrimaryContainer.ModelDataUrl if model is not None else None


def hosting_model(monitoring: Monitoring, ref: str | None) -> Model | None:
    """The hosting model a ``--model`` names, when it names one (not a file or a training job)."""
    if not ref or "://" in ref or Path(ref).exists():
        return None
    try:
        return monitoring.hosting.model(ref)
    except (NotFoundError, ValidationError):
        return None


def refuse_other_encoding(monitoring: Monitoring, schedule: MonitoringSchedule, baseline: Baseline) -> None:
    """A window is compared with its baseline through the baseline's encoding; a model behind the endpoint
    that reads other columns makes every finding meaningless, so the run (and the schedule) is refused."""
    if schedule.ModelDataUrl:
        found = model_encoding(None, training_job_of(monitoring, schedule.ModelDataUrl))
    else:
        model = endpoint_model(monitoring, schedule.EndpointName, schedule.VariantName)
        job = training_job_of(monitoring, model.PrimaryContainer.ModelDataUrl) if model is not None else None
        found = model_encoding(model, job)
    refuse_mismatch(
        "--baseline",
        KnownEncoding(baseline.manifest.Encoding, f"baseline {baseline.manifest.BaselineName}'s encoding"),
        found,
        f"make the baseline of endpoint {schedule.EndpointName} from data encoded as its model's training data "
        "(`mlops monitor baseline DATASET --model MODEL`)",
    )


def endpoint_capture_destination(monitoring: Monitoring, endpoint: str) -> str | None:
    hosting = monitoring.hosting
    try:
        config = hosting.endpoint_config(hosting.endpoint(endpoint).EndpointConfigName)
    except NotFoundError:
        return None
    return config.DataCaptureConfig.DestinationS3Uri if config.DataCaptureConfig else None


# --- baselines -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineRequest:
    dataset: str  # a dataset name of the store, or a CSV/Parquet file
    version: str | None = None
    name: str | None = None  # default: the dataset's name
    label: str | None = None  # files only: default a column named like the file, or label/target
    model: str | None = None  # a model.tar.gz, a hosting model or a training job
    prediction_column: str | None = None  # the file already holds the model's scores
    probability_threshold: float = 0.5
    captured: CapturedColumns = CapturedColumns.encoded
    bias: BiasConfig | None = None
    force: bool = False


def _read_table(path: Path, label: str | None) -> tuple[pd.DataFrame, str]:
    fmt = formats.format_of(path.name)
    table = formats.read_files([path], [str(path)], fmt)
    typed = formats.type_columns(table.frame, table)
    return typed, label or formats.default_label(typed, path.stem)


def training_job_of(monitoring: Monitoring, model_uri: str) -> TrainingJob | None:
    """The training job whose model artifact ``model_uri`` is, if it ran here."""
    if not monitoring.training_jobs.root.is_dir():
        return None
    local = None if "://" in model_uri else Path(model_uri).resolve()
    for job_file in sorted(monitoring.training_jobs.root.glob("*/job.json")):
        try:
            job = TrainingJob.model_validate_json(job_file.read_bytes())
        except ValueError:
            continue
        artifact = job.ModelArtifacts.S3ModelArtifacts if job.ModelArtifacts else None
        if artifact and (artifact == model_uri or (local is not None and "://" not in artifact
                                                   and Path(artifact).resolve() == local)):  # fmt: skip
            return job
    return None


@dataclass(frozen=True)
class HeldOut:
    version: DatasetVersion
    split: DatasetSplit
    part: SplitPart
    job: TrainingJob


def held_out_part(monitoring: Monitoring, job: TrainingJob) -> HeldOut | None:
    """The split part a job was not trained on, from its lineage: the dataset-store file of its ``test``
    channel, else of its ``validation`` channel (None when neither comes from the store)."""
    store = monitoring.datasets
    for wanted in ("test", "validation"):
        for channel in job.InputDataConfig:
            if channel.ChannelName != wanted:
                continue
            uri = channel.DataSource.S3DataSource.S3Uri
            found = store.find_by_path(uri)
            if found is None:
                continue
            version, split = found
            if split is None:
                continue
            path = Path(uri.removeprefix("file://")).resolve()
            part = next((p for p in split.Parts if any(Path(f.Uri).resolve() == path for f in p.Files)), None)
            if part is not None and part.Channel != "train":
                return HeldOut(version, split, part, job)
    return None


def _part_rows(held: HeldOut) -> np.ndarray:
    from mlops.data.splits import indices_sha256

    with np.load(held.split.IndicesUri) as arrays:
        rows = np.asarray(arrays[held.part.Name.replace("/", "__")])
    if indices_sha256(rows) != held.part.IndicesSha256:
        raise ValidationError(held.split.IndicesUri, f"the rows of split part {held.part.Name} do not match its record")
    return rows


def _whole(source: str, model: bool, job: TrainingJob | None) -> BaselineRows:
    text = f"every row of {source}"
    if model:
        why = (
            f"training job {job.TrainingJobName}'s lineage names no test or validation split of the dataset store"
            if job is not None
            else "the model's training job is unknown here"
        )
        text += f" ({why}: the model may have been trained on some of these rows, and then its model-quality " \
                "baseline is better than it can be on new data)"  # fmt: skip
    return BaselineRows(Description=text, HeldOut=False, TrainingJobName=job.TrainingJobName if job else None)


def create_baseline(monitoring: Monitoring, req: BaselineRequest) -> Baseline:
    """The baseline of a dataset or file. With a model from a training job whose lineage names a held-out
    split (its test, else validation channel), the baseline is made from that split's rows only, so the
    model-quality, bias and attribution baselines are what the model does on rows it never saw; without
    one, from every row, and the baseline says so (``Rows``)."""
    path = Path(req.dataset)
    model_uri = resolve_model_uri(monitoring, req.model) if req.model else None
    job = training_job_of(monitoring, model_uri) if model_uri else None
    held = held_out_part(monitoring, job) if job is not None else None
    if path.is_file():
        raw, label = _read_table(path, req.label)
        encoding = formats.build_encoding(
            raw.drop(columns=[req.prediction_column]) if req.prediction_column else raw, label
        )
        source, default_name = str(path.resolve()), path.stem
        rows = _whole(source, model_uri is not None, job)
    else:
        if req.label:
            raise ValidationError("--label", "a dataset of the store knows its label; --label is for files")
        store = monitoring.datasets
        if held is not None:
            if held.version.DatasetName != req.dataset or (
                req.version is not None and store.resolve(req.dataset, req.version).Version != held.version.Version
            ):
                raise ValidationError(
                    "--version",
                    f"the model's training job {held.job.TrainingJobName} was trained on {held.version.ref}; its "
                    f"baseline is made from that version's {held.part.Name} split (leave --version out, or name "
                    f"{held.version.DatasetName} --version {held.version.VersionNumber})",
                )
            version = held.version
        else:
            version = store.resolve(req.dataset, req.version)
        raw, encoding, source, default_name = store.table(version), version.Encoding, version.ref, req.dataset
        if held is not None:
            indices = _part_rows(held)
            raw = raw.iloc[indices].reset_index(drop=True)
            source = f"{version.ref}, {held.part.Name} split {held.split.SplitId}"
            rows = BaselineRows(
                Description=f"the {held.part.Name} split {held.split.SplitId} of {version.ref}: {len(raw)} rows "
                f"training job {held.job.TrainingJobName} never saw (its {held.part.Channel} channel)",
                HeldOut=True,
                TrainingJobName=held.job.TrainingJobName,
                DatasetVersion=version.Version,
                SplitId=held.split.SplitId,
                SplitPart=held.part.Name,
                Rows=len(raw),
            )
        else:
            rows = _whole(source, model_uri is not None, job)
    refuse_mismatch(
        "--model",
        KnownEncoding(encoding, f"the data ({source})"),
        model_encoding(hosting_model(monitoring, req.model), job),
        "make the baseline from data encoded as the model's training data (the dataset version it was trained "
        "on, or data ingested with --encoding-from)",
    )
    rows = rows.model_copy(update={"Rows": len(raw)})
    if model_uri is not None and not rows.HeldOut:
        log.warning("baseline of %s: %s", source, rows.Description)
    name = req.name or default_name
    scores = None
    if req.prediction_column:
        if req.prediction_column not in raw.columns:
            raise ValidationError("--prediction-column", f"no column {req.prediction_column!r}")
        scores = pd.to_numeric(raw[req.prediction_column], errors="coerce").to_numpy(dtype=np.float64)
    notes: list[str] = []
    model = None
    if model_uri:
        try:
            model = load_model(monitoring, model_uri)
        except UnknownModelFormat as e:
            notes.append(
                f"made without the model ({e}): no model-quality, post-training bias or attribution baseline; "
                "give the model's scores with --prediction-column for model quality"
            )
            log.warning("baseline of %s: %s", source, notes[-1])
    baseline = suggest_baseline(
        name,
        raw,
        encoding,
        source,
        model=model,
        scores=scores,
        probability_threshold=req.probability_threshold,
        captured=req.captured,
        model_data_url=model_uri,
        source_rows=rows,
        notes=tuple(notes),
    )
    if req.bias is not None:
        baseline = replace(baseline, bias={req.bias.Facet: bias_baseline(baseline, req.bias)})
    return monitoring.baselines.save(baseline, overwrite=req.force)


# --- schedules -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRequest:
    endpoint: str
    every: str = "1h"
    monitors: tuple[MonitoringType, ...] = tuple(MonitoringType)
    name: str | None = None
    baseline: str | None = None
    facet: str | None = None
    facet_values: tuple[str, ...] = ()
    facet_threshold: float | None = None
    group_variable: str | None = None
    label: str | None = None
    label_values: tuple[str, ...] = ()
    ground_truth: str | None = None
    alert: tuple[str, ...] = ()
    retrain: tuple[MonitoringType, ...] = ()
    severity: dict[MonitoringType, Severity] = field(default_factory=dict)
    cooldown: str = "24h"
    capture: str | None = None
    model: str | None = None
    offset: str | None = None
    drift_methods: dict[str, str] = field(default_factory=dict)


def _default_baseline(monitoring: Monitoring) -> str:
    names = monitoring.baselines.names()
    if len(names) == 1:
        return names[0]
    raise ValidationError(
        "--baseline",
        f"name the baseline ({', '.join(names)})" if names else "no baseline yet: `mlops monitor baseline`",
    )


def create_schedule(monitoring: Monitoring, req: ScheduleRequest) -> tuple[MonitoringSchedule, Path]:
    check_name("EndpointName", req.endpoint)
    baseline = monitoring.baselines.load(req.baseline or _default_baseline(monitoring))
    manifest = baseline.manifest
    if req.label and req.label != manifest.label:
        raise ValidationError("--label", f"baseline {manifest.BaselineName!r} was made with label {manifest.label!r}")
    bias = None
    if MonitoringType.ModelBias in req.monitors or req.facet:
        if not req.facet:
            raise ValidationError("--facet", "the bias monitor needs the facet column (--facet COLUMN)")
        bias = BiasConfig(
            Facet=req.facet,
            FacetValues=req.facet_values,
            FacetThreshold=req.facet_threshold,
            GroupVariable=req.group_variable,
            LabelValues=req.label_values,
        )
    targets = tuple(t for item in req.alert for t in item.split(",") if t)
    if targets:
        load_alerting(monitoring.alerting).channels(targets)  # unknown targets fail now, not at 3 a.m.
    specs = tuple(
        MonitorSpec(
            MonitoringType=kind,
            Retrain=kind in req.retrain,
            Severity=req.severity.get(kind, Severity.error),
            DriftMethods=req.drift_methods if kind is MonitoringType.DataDrift else {},
        )
        for kind in req.monitors
    )
    schedule = MonitoringSchedule(
        MonitoringScheduleName=check_name("--name", req.name or req.endpoint),
        EndpointName=req.endpoint,
        BaselineName=manifest.BaselineName,
        ScheduleConfig=ScheduleConfig(ScheduleExpression=rate_expression(req.every)),
        Monitors=specs,
        Bias=bias,
        GroundTruthS3Uri=req.ground_truth,
        CaptureDestination=req.capture,
        ModelDataUrl=resolve_model_uri(monitoring, req.model) if req.model else None,
        WindowOffsetSeconds=int(parse_duration(req.offset, "--offset").total_seconds()) if req.offset else 0,
        AlertTargets=targets,
        RetrainCooldownSeconds=int(parse_duration(req.cooldown, "--cooldown").total_seconds()),
        CreationTime=monitoring.clock(),
    )
    if bias is not None and MonitoringType.ModelBias in req.monitors and bias.Facet not in baseline.bias:
        monitoring.baselines.save_bias(manifest.BaselineName, bias.Facet, bias_baseline(baseline, bias))
    elif bias is not None and bias.Facet not in manifest.Columns:
        bias_baseline(baseline, bias)  # raises the missing-facet message
    refuse_other_encoding(monitoring, schedule, baseline)
    return schedule, save_schedule(monitoring.folders.schedules, schedule)


def list_schedules(monitoring: Monitoring) -> list[MonitoringSchedule]:
    return load_schedules(monitoring.folders.schedules)


def get_schedule(monitoring: Monitoring, name: str) -> MonitoringSchedule:
    schedules = list_schedules(monitoring)
    found = [s for s in schedules if s.MonitoringScheduleName == name] or [
        s for s in schedules if s.EndpointName == name
    ]
    if not found:
        raise NotFoundError(
            "monitoring schedule", name, "Create one with `mlops monitor schedule ENDPOINT --every 1h --monitors …`."
        )
    if len(found) > 1:
        raise ValidationError("schedule", f"endpoint {name!r} has several schedules: name one of "
                              f"{', '.join(s.MonitoringScheduleName for s in found)}")  # fmt: skip
    return found[0]


# --- runs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    html: bool = True
    alerts: bool = True
    retrain: bool = True
    now: datetime | None = None


def _model_for(
    monitoring: Monitoring, schedule: MonitoringSchedule, baseline: Baseline
) -> tuple[MonitoredModel | None, str]:
    uri = schedule.ModelDataUrl or endpoint_model_uri(monitoring, schedule.EndpointName, schedule.VariantName)
    uri = uri or baseline.manifest.ModelDataUrl
    if not uri:
        return None, "no model known for the endpoint"
    try:
        return load_model(monitoring, uri), uri
    except MlopsError as e:
        return None, str(e)


def run_schedule(
    monitoring: Monitoring, schedule: MonitoringSchedule, window: MonitoringWindow, req: RunRequest | None = None
) -> MonitoringRun:
    req = req or RunRequest()
    baseline = monitoring.baselines.load(schedule.BaselineName)
    dest = schedule.CaptureDestination or endpoint_capture_destination(monitoring, schedule.EndpointName)
    if not dest:
        raise ValidationError(
            "capture",
            f"endpoint {schedule.EndpointName!r} has no data capture configured; enable it on its endpoint config "
            "(--capture) or give the schedule a capture destination",
        )
    refuse_other_encoding(monitoring, schedule, baseline)
    kinds = {m.MonitoringType for m in schedule.Monitors}
    needs_model = kinds & {MonitoringType.ModelExplainability, MonitoringType.ModelBias, MonitoringType.ModelQuality}
    model, model_note = _model_for(monitoring, schedule, baseline) if needs_model else (None, "")
    data = load_capture_window(
        dest, schedule.EndpointName, window.start, window.end, baseline.manifest, schedule.VariantName,
        monitoring.s3_endpoint_url,
    )  # fmt: skip
    if kinds & {MonitoringType.ModelQuality, MonitoringType.ModelBias} and data.rows:
        location = ground_truth_location(monitoring, schedule.EndpointName, schedule)
        truth = ground_truth.read(location, since=window.start, s3_endpoint_url=monitoring.s3_endpoint_url)
        data = ground_truth.join(data, truth, baseline.manifest.Encoding)
    run_name = window.run_name(schedule.EndpointName)
    out_dir = monitoring.folders.runs_of(schedule.EndpointName) / run_name
    run = run_monitors(
        data,
        baseline,
        schedule.Monitors,
        endpoint=schedule.EndpointName,
        run_name=run_name,
        schedule_name=schedule.MonitoringScheduleName,
        model=model,
        bias_config=schedule.Bias,
        out_dir=out_dir,
        html=req.html,
        capture_location=dest,
    )
    if model is None and MonitoringType.ModelExplainability in kinds and model_note:
        log.warning("attribution monitor without a model: %s", model_note)
    update: dict[str, object] = {}
    if req.retrain:
        update["Retrain"] = decide_for_run(run, schedule, RetrainState(monitoring.folders.retrain), req.now)
    if req.alerts:
        try:
            notifier = Notifier(load_alerting(monitoring.alerting), monitoring.folders.alerts)
            update["Alerts"] = notifier.notify(run, schedule)
        except MlopsError as e:  # a broken alerting.yaml must not lose the run's findings
            log.error("alerts for %s not sent: %s", run.MonitoringRunName, e)
            failed = AlertDelivery(Target=",".join(schedule.AlertTargets), Channel="-", EventAction="-",
                                   DedupKey="-", Delivered=False, Attempts=0, Error=str(e))  # fmt: skip
            update["Alerts"] = (failed,)
    run = run.model_copy(update=update)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "run.json").write_text(run.model_dump_json(indent=2, exclude_none=True) + "\n")
    return run


def run_now(
    monitoring: Monitoring, name: str, length: str = "1h", end: datetime | None = None, req: RunRequest | None = None
) -> MonitoringRun:
    """``mlops monitor run``: the window of ``length`` that ends now (or at ``end``)."""
    schedule = get_schedule(monitoring, name)
    window = window_ending((end or monitoring.clock()).astimezone(UTC), parse_duration(length, "--window"))
    return run_schedule(monitoring, schedule, window, req)


def list_runs(monitoring: Monitoring, endpoint: str) -> list[MonitoringRun]:
    folder = monitoring.folders.runs_of(endpoint)
    if not folder.is_dir():
        return []
    runs = [MonitoringRun.model_validate_json(p.read_bytes()) for p in folder.glob("*/run.json")]
    return sorted(runs, key=lambda r: (r.WindowEnd, r.CreationTime))


# --- ground truth ----------------------------------------------------------------------------------


def captured_ids(monitoring: Monitoring, endpoint: str, dest: str, days: int) -> set[str]:
    from mlops.serving.capture import read_capture

    end = monitoring.clock() + timedelta(hours=1)
    ids: set[str] = set()
    for record in read_capture(
        dest, endpoint, end - timedelta(days=days), end, s3_endpoint_url=monitoring.s3_endpoint_url
    ):
        ids.add(record.eventMetadata.inferenceId or record.eventMetadata.eventId)
    return ids


def upload_ground_truth(
    monitoring: Monitoring, endpoint: str, file: Path, keep_unknown: bool = False, check_days: int = 30
) -> ground_truth.Upload:
    """Store the labels of ``file`` for ``endpoint``; labels for inference ids never captured (in the last
    ``check_days``) are refused unless ``keep_unknown``."""
    if not file.is_file():
        raise ValidationError("labels", f"{file} is not a file")
    schedule = next((s for s in list_schedules(monitoring) if s.EndpointName == endpoint), None)
    dest = (schedule.CaptureDestination if schedule else None) or endpoint_capture_destination(monitoring, endpoint)
    known = captured_ids(monitoring, endpoint, dest, check_days) if dest else None
    location = ground_truth_location(monitoring, endpoint, schedule)
    return ground_truth.upload(
        file.read_bytes(), location, str(file), known, keep_unknown, s3_endpoint_url=monitoring.s3_endpoint_url
    )


def describe_json(run: MonitoringRun) -> str:
    return json.dumps(run.model_dump(mode="json", exclude_none=True), indent=2)
