"""One monitoring run: the schedule's monitors over one window against one baseline → a ``MonitoringRun``
record, evidently's HTML report and the JSON list of violations.

Every monitor implements ``Monitor`` (``run(window, context) → MonitorResult``). A monitor that cannot
run says why in its result (``Failed``, or ``Skipped`` when there is not enough data yet, such as ground
truth) and the others still run; an empty window fails the run with a message that says what was read.
"""

from __future__ import annotations

import json
import logging
import math
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mlops.core.clock import utcnow
from mlops.core.datasets import ProblemType
from mlops.core.errors import MlopsError, ValidationError
from mlops.core.monitoring import (
    BiasConfig,
    MonitoringExecutionStatus,
    MonitoringRun,
    MonitoringType,
    MonitorResult,
    MonitorSpec,
    Violation,
)
from mlops.monitoring import attribution, bias, data_quality, drift, model_quality
from mlops.monitoring.baseline import Baseline, bias_baseline, predict
from mlops.monitoring.models import MonitoredModel
from mlops.monitoring.window import WindowData

log = logging.getLogger(__name__)
Status = MonitoringExecutionStatus


@dataclass
class RunContext:
    baseline: Baseline
    spec: MonitorSpec
    model: MonitoredModel | None = None
    bias_config: BiasConfig | None = None
    probability_threshold: float = 0.5
    out_dir: Path | None = None
    seed: int = 0
    notes: list[str] = field(default_factory=list)
    _scores: np.ndarray | None = None

    def scores(self, window: WindowData) -> np.ndarray | None:
        """The captured scores, or the model's when the capture holds no answers."""
        if window.scores is not None:
            return window.scores
        if self._scores is None and self.model is not None and window.rows:
            self._scores = predict(self.model, window.features, self.baseline.manifest.Encoding)
            self.notes.append("no answers were captured: scores computed with the model")
        return self._scores


class Monitor(Protocol):
    kind: MonitoringType

    def run(self, window: WindowData, ctx: RunContext) -> MonitorResult: ...


def _result(
    kind: MonitoringType,
    violations: Sequence[Violation],
    metrics: dict[str, float],
    rows: int,
    sampled: int | None = None,
    notes: Sequence[str] = (),
) -> MonitorResult:
    return MonitorResult(
        MonitoringType=kind,
        MonitoringExecutionStatus=Status.CompletedWithViolations if violations else Status.Completed,
        Violations=tuple(violations),
        Metrics={k: v for k, v in metrics.items() if math.isfinite(v)},
        Rows=rows,
        SampledRows=sampled,
        Notes=tuple(notes),
    )


def _skipped(kind: MonitoringType, reason: str, rows: int = 0) -> MonitorResult:
    return MonitorResult(MonitoringType=kind, MonitoringExecutionStatus=Status.Skipped, FailureReason=reason, Rows=rows)


def too_small(kind: MonitoringType, rows: int, spec: MonitorSpec, default: int) -> MonitorResult | None:
    """The skipped result of a window too small for the monitor to judge at its false-alarm rate."""
    needed = spec.MinRows or default
    if rows >= needed:
        return None
    return _skipped(kind, f"window of {rows} rows is too small to judge (needs >= {needed})", rows)


def _write_json(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


class DataQualityMonitor:
    kind = MonitoringType.DataQuality

    def run(self, window: WindowData, ctx: RunContext) -> MonitorResult:
        small = too_small(self.kind, window.rows, ctx.spec, data_quality.MIN_ROWS)
        if small is not None:
            return small
        violations, stats = data_quality.check(
            window.features,
            ctx.baseline.statistics,
            ctx.baseline.constraints,
            window.unparsable,
            false_alarm_rate=ctx.spec.FalseAlarmRate,
        )
        if ctx.out_dir is not None:
            _write_json(
                ctx.out_dir / "data-quality" / "statistics.json", stats.model_dump(mode="json", exclude_none=True)
            )
        metrics = {"features_checked": float(len(ctx.baseline.constraints.features))}
        return _result(self.kind, violations, metrics, window.rows)


class DataDriftMonitor:
    kind = MonitoringType.DataDrift

    def run(self, window: WindowData, ctx: RunContext) -> MonitorResult:
        small = too_small(self.kind, window.rows, ctx.spec, drift.MIN_ROWS)
        if small is not None:
            return small
        violations, metrics, drifts = drift.drift_check(ctx.baseline.features, window.features, ctx.spec)
        notes = [f"{d.column}: {d.method_display} {d.score:.4g} (threshold {d.threshold:.3g})" for d in drifts]
        return _result(self.kind, violations, metrics, window.rows, notes=notes)


class ModelQualityMonitor:
    kind = MonitoringType.ModelQuality

    def run(self, window: WindowData, ctx: RunContext) -> MonitorResult:
        base = ctx.baseline
        if base.model_quality_statistics is None or base.model_quality_constraints is None:
            return _skipped(self.kind, "the baseline has no model-quality statistics (make it with --model and labels)")
        if window.labels is None:
            return _skipped(self.kind, "no ground truth was read for this window", window.rows)
        scores = ctx.scores(window)
        if scores is None:
            return _skipped(self.kind, "neither captured answers nor a model to score the window", window.rows)
        known = ~np.isnan(window.labels) & (~np.isnan(scores) if scores.ndim == 1 else ~np.isnan(scores).any(axis=1))
        labeled = int(known.sum())
        if labeled < ctx.spec.MinLabeledRows:
            return _skipped(
                self.kind,
                f"only {labeled} of {window.rows} rows have ground truth and an answer; "
                f"{ctx.spec.MinLabeledRows} needed (MinLabeledRows)",
                window.rows,
            )
        metrics = model_quality.compute(
            base.manifest.problem_type, window.labels[known], scores[known], ctx.probability_threshold
        )
        violations = model_quality.check(
            metrics,
            base.model_quality_statistics,
            base.model_quality_constraints,
            rows=labeled,
            false_alarm_rate=ctx.spec.FalseAlarmRate,
        )
        metrics["labeled_rows"] = float(labeled)
        return _result(self.kind, violations, metrics, labeled)


class BiasMonitor:
    kind = MonitoringType.ModelBias

    def run(self, window: WindowData, ctx: RunContext) -> MonitorResult:
        config = ctx.bias_config
        if config is None:
            raise ValidationError("bias", "the bias monitor needs a facet (--facet)")
        small = too_small(self.kind, window.rows, ctx.spec, bias.MIN_ROWS)
        if small is not None:
            return small
        bias.facet_groups(window.features, config)  # a missing facet column fails here, with its message
        encoding = ctx.baseline.manifest.Encoding
        notes = []
        reference = ctx.baseline.bias.get(config.Facet)
        if reference is None:
            reference = bias_baseline(ctx.baseline, config, seed=ctx.seed)
            notes.append(f"no bias/{config.Facet}.json in the baseline: computed from its reference sample")
        out = bias.outcomes(window.labels, ctx.scores(window), encoding, config, ctx.probability_threshold)
        analysis, noise, found = bias.analyse(
            window.features, out, config, encoding, tolerances=None, seed=ctx.seed, draws=bias.BOOTSTRAP
        )
        violations, metrics = bias.check(
            reference, analysis, noise, config.Facet, ctx.spec.FalseAlarmRate, rows=window.rows
        )
        if ctx.out_dir is not None:
            _write_json(ctx.out_dir / "bias" / "analysis.json", analysis.model_dump(mode="json", exclude_none=True))
        return _result(self.kind, violations, metrics, window.rows, notes=notes + found)


class AttributionMonitor:
    kind = MonitoringType.ModelExplainability

    def run(self, window: WindowData, ctx: RunContext) -> MonitorResult:
        if ctx.baseline.attribution is None:
            return _skipped(self.kind, "the baseline has no attributions (make it with --model)")
        if ctx.model is None:
            return _skipped(self.kind, "no model to explain (the endpoint's model could not be loaded)")
        small = too_small(self.kind, window.rows, ctx.spec, attribution.MIN_ROWS)
        if small is not None:
            return small
        rng = np.random.default_rng(ctx.seed)
        values, expected, explained = attribution.attributions(
            ctx.model, window.features, ctx.baseline.manifest.Encoding, rng, background=ctx.baseline.features
        )
        violations, metrics = attribution.check(ctx.baseline.attribution, values, ctx.spec.NdcgThreshold)
        if ctx.out_dir is not None:
            method = attribution.method_of(ctx.model)
            document = attribution.analysis(values, method, expected).model_dump(mode="json", exclude_none=True)
            _write_json(ctx.out_dir / "attribution" / "analysis.json", document)
        return _result(self.kind, violations, metrics, window.rows, sampled=explained)


MONITORS: dict[MonitoringType, Monitor] = {
    m.kind: m
    for m in (DataQualityMonitor(), DataDriftMonitor(), ModelQualityMonitor(), BiasMonitor(), AttributionMonitor())
}


def empty_window_reason(window: WindowData, endpoint: str, where: str) -> str:
    c = window.capture
    read = f"{c.Files} file(s), {c.Records} record(s)"
    bad = []
    if c.MalformedLines:
        bad.append(f"{c.MalformedLines} malformed line(s)")
    if c.TruncatedLines:
        bad.append(f"{c.TruncatedLines} truncated line(s)")
    if c.UndecodableRecords:
        bad.append(f"{c.UndecodableRecords} record(s) whose request could not be read")
    detail = f" ({'; '.join(bad)}; first: {c.Problems[0]})" if bad and c.Problems else ""
    return (
        f"the window [{window.start.isoformat()}, {window.end.isoformat()}) holds no captured rows for endpoint "
        f"{endpoint!r} under {where}: read {read}{detail}"
    )


def run_monitors(
    window: WindowData,
    baseline: Baseline,
    monitors: Sequence[MonitorSpec],
    endpoint: str,
    run_name: str,
    schedule_name: str | None = None,
    model: MonitoredModel | None = None,
    bias_config: BiasConfig | None = None,
    out_dir: Path | None = None,
    html: bool = True,
    capture_location: str = "the capture destination",
    seed: int = 0,
) -> MonitoringRun:
    started = utcnow()
    common: dict[str, Any] = {
        "MonitoringRunName": run_name,
        "MonitoringScheduleName": schedule_name,
        "EndpointName": endpoint,
        "BaselineName": baseline.manifest.BaselineName,
        "WindowStart": window.start,
        "WindowEnd": window.end,
        "CreationTime": started,
        "Capture": window.capture,
        "GroundTruth": window.ground_truth,
    }
    if window.rows == 0:
        reason = empty_window_reason(window, endpoint, capture_location)
        return MonitoringRun(**common, EndTime=utcnow(), MonitoringExecutionStatus=Status.Failed, FailureReason=reason)
    threshold = baseline.manifest.ProbabilityThreshold
    results: list[MonitorResult] = []
    shared_scores: np.ndarray | None = None
    for spec in monitors:
        ctx = RunContext(baseline, spec, model, bias_config, threshold, out_dir, seed, _scores=shared_scores)
        begin = time.perf_counter()
        try:
            result = MONITORS[spec.MonitoringType].run(window, ctx)
        except MlopsError as e:
            result = MonitorResult(
                MonitoringType=spec.MonitoringType, MonitoringExecutionStatus=Status.Failed, FailureReason=str(e)
            )
        except Exception as e:  # one monitor's bug must not hide the others' findings
            log.error("monitor %s failed:\n%s", spec.MonitoringType.value, traceback.format_exc())
            result = MonitorResult(
                MonitoringType=spec.MonitoringType,
                MonitoringExecutionStatus=Status.Failed,
                FailureReason=f"{type(e).__name__}: {e}",
            )
        shared_scores = ctx._scores
        notes = tuple(result.Notes) + tuple(ctx.notes)
        results.append(
            result.model_copy(update={"DurationSeconds": round(time.perf_counter() - begin, 3), "Notes": notes})
        )
    violations = [v for r in results for v in r.Violations]
    failed = [r for r in results if r.MonitoringExecutionStatus is Status.Failed]
    if violations:
        status = Status.CompletedWithViolations
    elif failed and len(failed) == len(results):
        status = Status.Failed
    else:
        status = Status.Completed
    violations_uri = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        violations_path = out_dir / "violations.json"
        _write_json(violations_path, {"violations": [v.model_dump(mode="json", exclude_none=True) for v in violations]})
        violations_uri = str(violations_path)
    failures = "; ".join(f"{r.MonitoringType.value}: {r.FailureReason}" for r in failed) or None
    run = MonitoringRun(
        **common,
        EndTime=utcnow(),
        MonitoringExecutionStatus=status,
        FailureReason=failures,
        Monitors=tuple(results),
        ViolationsUri=violations_uri,
    )
    if out_dir is not None and html:
        run = run.model_copy(update={"ReportUri": _report(out_dir, run, window, baseline, monitors, seed)})
    return run


def _report(
    out_dir: Path,
    run: MonitoringRun,
    window: WindowData,
    baseline: Baseline,
    monitors: Sequence[MonitorSpec],
    seed: int,
) -> str | None:
    """The run's HTML page, with evidently's report as one section (its failure is noted on the page)."""
    from mlops.monitoring.report import evidently_html, write_report

    spec = next((m for m in monitors if m.MonitoringType is MonitoringType.DataDrift), None)
    problem = baseline.manifest.problem_type
    outcomes = None
    if window.labels is not None and window.scores is not None and baseline.labels is not None:
        ref_scores = baseline.scores
        if ref_scores is not None and float(np.mean(~np.isnan(window.labels))) >= 0.9:
            outcomes = (
                (baseline.labels, _predicted(ref_scores, problem, baseline.manifest.ProbabilityThreshold)),
                (window.labels, _predicted(window.scores, problem, baseline.manifest.ProbabilityThreshold)),
            )
    embedded: str | None = None
    try:
        embedded, shown = evidently_html(
            baseline.features,
            window.features,
            spec,
            problem if outcomes else None,
            outcomes[0] if outcomes else None,
            outcomes[1] if outcomes else None,
            seed=seed,
        )
        note = (
            f"evidently's own report over {shown} of the window's {window.rows} rows and the baseline's "
            f"{len(baseline.features)} reference rows, with the drift monitor's methods and thresholds"
        )
    except Exception as e:  # the report is a view: its failure is noted, the run's findings stand
        log.error("evidently's report could not be rendered:\n%s", traceback.format_exc())
        note = f"evidently's report could not be rendered: {type(e).__name__}: {e}"
    try:
        return str(write_report(out_dir / "report.html", run, embedded, note))
    except OSError:
        log.error("the report could not be written:\n%s", traceback.format_exc())
        return None


def _predicted(scores: np.ndarray, problem: ProblemType, threshold: float) -> np.ndarray:
    if problem is ProblemType.Regression:
        return scores if scores.ndim == 1 else scores[:, 0]
    if scores.ndim == 2:
        return np.asarray(scores.argmax(axis=1), dtype=np.float64)
    return (scores >= threshold).astype(np.float64)
