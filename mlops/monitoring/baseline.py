"""Baselines, as Model Monitor's ``suggest_baseline`` makes them, from a DataFrame of training data (and
the model's predictions): per-feature statistics and suggested constraints, model-quality statistics and
constraints, global attributions, and a reference sample that the drift tests and bias metrics compare
windows with. A baseline is a folder of editable files::

    baseline.json                      what it was made from (MonitoringBaseline)
    statistics.json, constraints.json  Model Monitor's shapes
    model-quality/statistics.json, model-quality/constraints.json
    attribution.json                   Clarify's analysis shape (global SHAP values)
    bias/<facet>.json                  Clarify's analysis shape, with a tolerance per metric
    reference.parquet                  a sample of the monitored view, with the label and the score
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from mlops.core.clock import utcnow
from mlops.core.datasets import FeatureEncoding
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.files import path_under
from mlops.core.ids import check_name
from mlops.core.monitoring import BaselineRows, BiasConfig, CapturedColumns, MonitoringBaseline
from mlops.core.monitoring_files import (
    AttributionAnalysis,
    BiasAnalysis,
    DatasetConstraints,
    DatasetStatistics,
    ModelQualityConstraints,
    ModelQualityStatistics,
)
from mlops.monitoring import attribution, bias, model_quality
from mlops.monitoring.constraints import dataset_statistics, suggest_constraints
from mlops.monitoring.features import LABEL, SCORE, label_index, matrix_from_frame, monitor_frame
from mlops.monitoring.models import MonitoredModel

REFERENCE_ROWS = 20_000
PREDICT_CHUNK = 100_000
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Baseline:
    manifest: MonitoringBaseline
    statistics: DatasetStatistics
    constraints: DatasetConstraints
    reference: pd.DataFrame  # monitored view + LABEL + SCORE (or SCORE<k> per class)
    model_quality_statistics: ModelQualityStatistics | None = None
    model_quality_constraints: ModelQualityConstraints | None = None
    attribution: AttributionAnalysis | None = None
    bias: dict[str, BiasAnalysis] = field(default_factory=dict)  # by facet
    folder: Path | None = None

    @property
    def features(self) -> pd.DataFrame:
        return self.reference[list(self.manifest.Columns)]

    @property
    def labels(self) -> np.ndarray | None:
        return self.reference[LABEL].to_numpy(dtype=np.float64) if LABEL in self.reference.columns else None

    @property
    def scores(self) -> np.ndarray | None:
        return reference_scores(self.reference)


def reference_scores(reference: pd.DataFrame) -> np.ndarray | None:
    if SCORE in reference.columns:
        return np.asarray(reference[SCORE].to_numpy(dtype=np.float64))
    columns = sorted(
        (c for c in reference.columns if str(c).startswith(SCORE)), key=lambda c: int(str(c)[len(SCORE) :])
    )
    return reference[columns].to_numpy(dtype=np.float64) if columns else None


def predict(model: MonitoredModel, frame: pd.DataFrame, encoding: FeatureEncoding) -> np.ndarray:
    parts = [
        np.asarray(model.predict(matrix_from_frame(frame.iloc[i : i + PREDICT_CHUNK], encoding)))
        for i in range(0, len(frame), PREDICT_CHUNK)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def suggest_baseline(
    name: str,
    raw: pd.DataFrame,
    encoding: FeatureEncoding,
    source: str,
    model: MonitoredModel | None = None,
    scores: np.ndarray | None = None,
    probability_threshold: float = 0.5,
    captured: CapturedColumns = CapturedColumns.encoded,
    model_data_url: str | None = None,
    reference_rows: int = REFERENCE_ROWS,
    tolerance: float = model_quality.TOLERANCE,
    seed: int = 0,
    source_rows: BaselineRows | None = None,
    notes: tuple[str, ...] = (),
) -> Baseline:
    """The baseline of ``raw`` (training data: the raw columns, the label if present). With a model (or
    its ``scores`` for every row) it also holds model-quality statistics and, with a model, attributions."""
    check_name("baseline name", name)
    if raw.empty:
        raise ValidationError(source, "the baseline data holds no rows")
    frame = monitor_frame(raw, encoding, where=source)
    labels = label_index(raw[encoding.LabelColumn], encoding) if encoding.LabelColumn in raw.columns else None
    if labels is not None and np.isnan(labels).all():
        labels = None
    if scores is None and model is not None:
        scores = predict(model, frame, encoding)
    if scores is not None and len(scores) != len(frame):
        raise ValidationError("scores", f"{len(scores)} scores for {len(frame)} rows")
    statistics = dataset_statistics(frame)
    constraints = suggest_constraints(statistics)
    mq_stats = mq_constraints = None
    if labels is not None and scores is not None:
        known = ~np.isnan(labels)
        mq_stats = model_quality.statistics(
            encoding.ProblemType, labels[known], scores[known], probability_threshold, seed=seed
        )
        mq_constraints = model_quality.suggest(mq_stats, tolerance)
    rng = np.random.default_rng(seed)
    rows = (
        np.arange(len(frame))
        if len(frame) <= reference_rows
        else np.sort(rng.choice(len(frame), reference_rows, replace=False))
    )
    reference = frame.iloc[rows].reset_index(drop=True)
    if labels is not None:
        reference[LABEL] = labels[rows]
    if scores is not None:
        if scores.ndim == 2:
            for k in range(scores.shape[1]):
                reference[f"{SCORE}{k}"] = scores[rows, k]
        else:
            reference[SCORE] = scores[rows]
    analysis = method = None
    if model is not None:
        method = attribution.method_of(model)
        values, expected, _ = attribution.attributions(model, reference[list(frame.columns)], encoding, rng)
        analysis = attribution.analysis(values, method, expected)
    manifest = MonitoringBaseline(
        BaselineName=name,
        Source=source,
        CreationTime=utcnow(),
        Encoding=encoding,
        Columns=tuple(str(c) for c in frame.columns),
        CapturedColumns=captured,
        RowCount=len(frame),
        ReferenceRows=len(reference),
        HasLabels=labels is not None,
        HasPredictions=scores is not None,
        ProbabilityThreshold=probability_threshold,
        ModelDataUrl=model_data_url,
        AttributionMethod=method,
        Rows=source_rows or BaselineRows(Description=f"every row of {source}", HeldOut=False, Rows=len(frame)),
        Notes=notes,
    )
    return Baseline(manifest, statistics, constraints, reference, mq_stats, mq_constraints, analysis)


def bias_baseline(baseline: Baseline, config: BiasConfig, seed: int = 0) -> BiasAnalysis:
    """Clarify's metrics for ``config``'s facet on the baseline's reference sample."""
    if config.Facet not in baseline.manifest.Columns:
        raise ValidationError(
            "--facet",
            f"no column {config.Facet!r} in baseline {baseline.manifest.BaselineName!r}; columns: "
            f"{', '.join(baseline.manifest.Columns)}",
        )
    out = bias.outcomes(
        baseline.labels, baseline.scores, baseline.manifest.Encoding, config, baseline.manifest.ProbabilityThreshold
    )
    analysis, _, _ = bias.analyse(
        baseline.features, out, config, baseline.manifest.Encoding, seed=seed, draws=bias.BOOTSTRAP
    )  # bootstrapped: a window is judged against the baseline's own noise too
    return analysis


# --- the files -------------------------------------------------------------------------------------

_FACET_FILE = re.compile(r"[^A-Za-z0-9_.-]+")


def _write(path: Path, record: BaseModel) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.model_dump(mode="json", exclude_none=True), indent=2) + "\n")


def _read(kind: type[M], path: Path) -> M:
    try:
        return kind.model_validate_json(path.read_bytes())
    except PydanticValidationError as e:
        item = e.errors()[0]
        where = ".".join(str(p) for p in item["loc"])
        raise ValidationError(str(path), f"{where}: {item['msg']} ({e.error_count()} problem(s))") from None


class BaselineStore:
    """Baselines under one folder (HOME/monitoring/baselines), one sub-folder each."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, name: str) -> Path:
        return path_under(self.root, check_name("baseline name", name), field="baseline name")

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "baseline.json").is_file())

    def save(self, baseline: Baseline, overwrite: bool = False) -> Baseline:
        final = self.folder(baseline.manifest.BaselineName)
        if final.exists() and not overwrite:
            raise ConflictError(
                f"baseline {baseline.manifest.BaselineName!r} exists (its files may hold your edits); "
                "choose another --name or pass --force to replace it"
            )
        tmp = final.with_name(f".{final.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        _write(tmp / "statistics.json", baseline.statistics)
        _write(tmp / "constraints.json", baseline.constraints)
        if baseline.model_quality_statistics is not None and baseline.model_quality_constraints is not None:
            _write(tmp / "model-quality" / "statistics.json", baseline.model_quality_statistics)
            _write(tmp / "model-quality" / "constraints.json", baseline.model_quality_constraints)
        if baseline.attribution is not None:
            _write(tmp / "attribution.json", baseline.attribution)
        for facet, analysis in baseline.bias.items():
            _write(tmp / "bias" / f"{_FACET_FILE.sub('_', facet)}.json", analysis)
        baseline.reference.to_parquet(tmp / "reference.parquet", index=False)
        _write(tmp / "baseline.json", baseline.manifest)  # last: a folder without it is not a baseline
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        return self.load(baseline.manifest.BaselineName)

    def load(self, name: str) -> Baseline:
        folder = self.folder(name)
        if not (folder / "baseline.json").is_file():
            known = ", ".join(self.names()) or "none yet"
            raise NotFoundError(
                "baseline", name, f"Make one with `mlops monitor baseline DATASET` (baselines: {known})."
            )
        manifest = _read(MonitoringBaseline, folder / "baseline.json")
        mq = folder / "model-quality"
        bias_files = sorted((folder / "bias").glob("*.json")) if (folder / "bias").is_dir() else []
        return Baseline(
            manifest=manifest,
            statistics=_read(DatasetStatistics, folder / "statistics.json"),
            constraints=_read(DatasetConstraints, folder / "constraints.json"),
            reference=pd.read_parquet(folder / "reference.parquet"),
            model_quality_statistics=_read(ModelQualityStatistics, mq / "statistics.json")
            if (mq / "statistics.json").is_file()
            else None,
            model_quality_constraints=_read(ModelQualityConstraints, mq / "constraints.json")
            if (mq / "constraints.json").is_file()
            else None,
            attribution=_read(AttributionAnalysis, folder / "attribution.json")
            if (folder / "attribution.json").is_file()
            else None,
            bias={_bias_facet(p): _read(BiasAnalysis, p) for p in bias_files},
            folder=folder,
        )

    def save_bias(self, name: str, facet: str, analysis: BiasAnalysis) -> Path:
        path = self.folder(name) / "bias" / f"{_FACET_FILE.sub('_', facet)}.json"
        _write(path, analysis)
        return path


def _bias_facet(path: Path) -> str:
    analysis = json.loads(path.read_text())
    for section in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        facets = (analysis.get(section) or {}).get("facets") or {}
        if facets:
            return str(next(iter(facets)))
    return path.stem
