"""Monitoring records: baselines, schedules, runs, violations, alerts and retraining decisions.

Where SageMaker has the concept, the names are SageMaker's; these API-like records use PascalCase as
DescribeMonitoringSchedule / DescribeMonitoringExecution do; a violation keeps the snake_case keys of
Model Monitor's ``constraint_violations.json``. The baseline files Model Monitor and Clarify write
(``statistics.json``, ``constraints.json``, Clarify's ``analysis.json``) are in ``core/monitoring_files.py``.
Our additions are marked. No I/O here: computing and storing live in ``mlops.monitoring``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from mlops.core.datasets import FeatureEncoding, ProblemType
from mlops.core.errors import ValidationError
from mlops.core.ids import NameStr, RecordIdStr
from mlops.core.records import Record

# Fields carry SageMaker's names, which are also the names of their types; the `<Name>T` aliases
# after a class let an annotation name the type where a field of the same name shadows it.


class _Record(Record):
    model_config = ConfigDict(ser_json_inf_nan="strings")


class MonitoringType(StrEnum):
    """SageMaker's DataQuality / ModelQuality / ModelBias / ModelExplainability, plus evidently's drift."""

    DataQuality = "data-quality"
    DataDrift = "data-drift"  # ours: evidently's per-feature drift tests
    ModelQuality = "model-quality"
    ModelBias = "bias"
    ModelExplainability = "attribution"


MonitoringTypeT = MonitoringType
ALL_MONITORS: tuple[MonitoringType, ...] = tuple(MonitoringType)


def parse_monitors(text: str) -> tuple[MonitoringType, ...]:
    """``data-quality,data-drift,…`` (or ``all``) → monitor types, refusing unknown names."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return ALL_MONITORS
    out: list[MonitoringType] = []
    for name in names:
        try:
            out.append(MonitoringType(name))
        except ValueError:
            known = ", ".join(m.value for m in MonitoringType)
            raise ValidationError("--monitors", f"unknown monitor {name!r}; known: {known} (or all)") from None
    if not out:
        raise ValidationError("--monitors", "name at least one monitor")
    return tuple(dict.fromkeys(out))


class MonitoringExecutionStatus(StrEnum):
    Completed = "Completed"
    CompletedWithViolations = "CompletedWithViolations"
    Failed = "Failed"
    Skipped = "Skipped"  # ours: not enough data for this monitor yet (e.g. no ground truth), not an error


MonitoringExecutionStatusT = MonitoringExecutionStatus


class Severity(StrEnum):
    """PagerDuty's severities, most severe first."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        return {"critical": 3, "error": 2, "warning": 1, "info": 0}[self.value]


SeverityT = Severity


# --- the baseline's manifest -----------------------------------------------------------------------


class CapturedColumns(StrEnum):
    """What a captured request row holds: the encoded feature vector the model reads (the platform's
    endpoints), or the raw input columns in order."""

    encoded = "encoded"
    raw = "raw"


CapturedColumnsT = CapturedColumns


class BaselineRows(_Record):
    """Which rows a baseline was made from (ours): the model-quality, bias and attribution baselines mean
    something only on rows the model never saw."""

    Description: str  # e.g. "the test split 1a2b3c of churn@… (version 1): 450 rows the model never saw"
    HeldOut: bool  # True: the model was not trained on these rows (known from the job's lineage)
    TrainingJobName: str | None = None
    DatasetVersion: str | None = None
    SplitId: str | None = None
    SplitPart: str | None = None  # test or validation
    Rows: int = 0


BaselineRowsT = BaselineRows


class MonitoringBaseline(_Record):
    """What ``mlops monitor baseline`` made (ours; SageMaker keeps the same in its baselining job's
    output folder). The files beside it: statistics.json, constraints.json, reference.parquet and, with a
    model, model-quality/{statistics,constraints}.json and attribution.json."""

    BaselineName: NameStr
    Source: str  # a dataset reference (name@version) or a file
    CreationTime: datetime
    Encoding: FeatureEncoding
    Columns: tuple[str, ...]  # the monitored input columns, in request order
    CapturedColumns: CapturedColumnsT = CapturedColumns.encoded
    RowCount: int
    ReferenceRows: int
    HasLabels: bool
    HasPredictions: bool
    ProbabilityThreshold: float = 0.5
    ModelDataUrl: str | None = None
    AttributionMethod: str | None = None
    Rows: BaselineRowsT | None = None  # ours: which rows (None: a baseline made before this was recorded)
    Notes: tuple[str, ...] = ()  # ours: e.g. why the baseline has no attributions

    @property
    def problem_type(self) -> ProblemType:
        return self.Encoding.ProblemType

    @property
    def label(self) -> str:
        return self.Encoding.LabelColumn


# --- violations, results, runs ---------------------------------------------------------------------


class Violation(_Record):
    """One entry of constraint_violations.json: Model Monitor's keys (feature_name, constraint_check_type,
    description), Clarify's for bias (facet, facet_value, metric_name), plus ours: the monitor, and the
    baseline value, observed value and threshold that decided it."""

    monitoring_type: MonitoringTypeT
    constraint_check_type: str
    feature_name: str | None = None
    metric_name: str | None = None
    facet: str | None = None
    facet_value: str | None = None
    baseline_value: float | str | None = None
    observed_value: float | str | None = None  # in the unit of baseline_value
    threshold: float | str | None = None
    # Ours: how far from baseline_value chance alone moves observed_value in a window of window_rows rows, at
    # the monitor's false-alarm rate (mlops/monitoring/README.md: how each monitor judges with it), and those rows.
    noise_band: float | None = None
    window_rows: int | None = None
    description: str

    @property
    def subject(self) -> str:
        """What the violation is about, for people: the feature, the facet value and the metric."""
        parts = [self.feature_name, f"{self.facet}={self.facet_value}" if self.facet else None, self.metric_name]
        return " ".join(p for p in parts if p) or self.monitoring_type.value

    @property
    def key(self) -> str:
        """What identifies the violation across runs (for resolving and retraining records)."""
        parts = [self.monitoring_type.value, self.constraint_check_type]
        parts += [p for p in (self.feature_name, self.metric_name, self.facet, self.facet_value) if p]
        return "/".join(parts)


class MonitorResult(_Record):
    MonitoringType: MonitoringTypeT
    MonitoringExecutionStatus: MonitoringExecutionStatusT
    Violations: tuple[Violation, ...] = ()
    Metrics: dict[str, float] = Field(default_factory=dict)
    FailureReason: str | None = None  # why it failed or was skipped
    Rows: int = 0  # rows evaluated
    SampledRows: int | None = None  # rows of a sample, where the monitor samples (SHAP, the HTML report)
    DurationSeconds: float = 0.0
    Notes: tuple[str, ...] = ()


class CaptureSummary(_Record):
    """What was read from the capture files of the window (ours)."""

    Files: int = 0
    Records: int = 0
    Rows: int = 0
    MalformedLines: int = 0  # lines that are not capture records
    TruncatedLines: int = 0  # a last line without its end (a file still being written or cut short)
    UndecodableRecords: int = 0  # records whose payload could not be read as rows
    SkippedRows: int = 0  # rows of a width other than the window's
    Problems: tuple[str, ...] = ()


class GroundTruthSummary(_Record):
    Files: int = 0
    Labels: int = 0
    MalformedLines: int = 0
    MatchedRows: int = 0
    UnlabeledRows: int = 0
    Problems: tuple[str, ...] = ()


class RetrainDecision(_Record):
    Retrain: bool  # True: retraining is requested (the monitoring DAG starts the pipeline; the CLI does not)
    Reason: str
    RequestUri: str | None = None  # ours: where a positive decision is recorded for the pipeline to pick up
    TriggeringViolation: Violation | None = None
    Candidates: tuple[Violation, ...] = ()
    LastTriggerTime: datetime | None = None
    CooldownUntil: datetime | None = None


class AlertDelivery(_Record):
    Target: str
    Channel: str
    EventAction: str
    DedupKey: str
    Delivered: bool
    Attempts: int
    Error: str | None = None


class MonitoringRun(_Record):
    """One run of a schedule's monitors over one window (SageMaker: a monitoring execution)."""

    MonitoringRunName: RecordIdStr
    MonitoringScheduleName: NameStr | None = None
    EndpointName: NameStr
    BaselineName: NameStr
    WindowStart: datetime
    WindowEnd: datetime
    CreationTime: datetime
    EndTime: datetime | None = None
    MonitoringExecutionStatus: MonitoringExecutionStatusT
    FailureReason: str | None = None
    Monitors: tuple[MonitorResult, ...] = ()
    Capture: CaptureSummary = Field(default_factory=CaptureSummary)
    GroundTruth: GroundTruthSummary | None = None
    ReportUri: str | None = None  # evidently's HTML report
    ViolationsUri: str | None = None  # the JSON list of violations
    Retrain: RetrainDecision | None = None
    Alerts: tuple[AlertDelivery, ...] = ()

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(v for m in self.Monitors for v in m.Violations)

    def result(self, kind: MonitoringType) -> MonitorResult | None:
        return next((m for m in self.Monitors if m.MonitoringType is kind), None)


# --- schedules -------------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_EVERY = re.compile(r"^(\d+)\s*(m|min|h|d)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "m": 60, "min": 60, "h": 3600, "d": 86400}


def rate_expression(every: str) -> str:
    """``1h`` / ``30m`` / ``1d`` → ``rate(1 hour)`` …; a rate(…) expression is returned as it is."""
    text = every.strip()
    if _RATE.match(text):
        return text
    m = _EVERY.match(text)
    if not m or int(m.group(1)) < 1:
        raise ValidationError("--every", f"{every!r}: use a count and a unit, e.g. 30m, 1h or 1d")
    count, unit = int(m.group(1)), {"m": "minute", "min": "minute", "h": "hour", "d": "day"}[m.group(2)]
    return f"rate({count} {unit}{'s' if count > 1 else ''})"


class ScheduleConfig(_Record):
    """SageMaker's ScheduleExpression; we accept ``rate(N minutes|hours|days)`` (an Airflow timedelta)."""

    ScheduleExpression: str

    @model_validator(mode="after")
    def _known(self) -> ScheduleConfig:
        if not _RATE.match(self.ScheduleExpression):
            raise ValueError(f"ScheduleExpression {self.ScheduleExpression!r}: use rate(N minutes|hours|days)")
        return self

    @property
    def interval(self) -> timedelta:
        m = _RATE.match(self.ScheduleExpression)
        assert m is not None
        unit = m.group(2).rstrip("s")
        return timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[unit])


ScheduleConfigT = ScheduleConfig


class MonitorSpec(_Record):
    MonitoringType: MonitoringTypeT
    Severity: SeverityT = Severity.error
    Retrain: bool = False  # whether a violation of this monitor asks for retraining
    # Ours: the share of windows of unchanged data this monitor may flag (all its features and checks
    # together; see mlops/monitoring/README.md for how each monitor holds it).
    FalseAlarmRate: float = Field(default=0.01, gt=0, lt=0.5)
    # Ours: fewer rows than this and the monitor says the window is too small instead of judging it
    # (None: the monitor's own minimum).
    MinRows: int | None = Field(default=None, ge=1)
    # data-drift: evidently's method and threshold per column (overrides its choice by type and size)
    DriftMethods: dict[str, str] = Field(default_factory=dict)
    DriftThresholds: dict[str, float] = Field(default_factory=dict)
    DriftShare: float = Field(default=0.5, gt=0, le=1)
    # model-quality: fewer labelled rows than this and the monitor is skipped
    MinLabeledRows: int = Field(default=100, ge=1)
    # attribution: Clarify's nDCG threshold
    NdcgThreshold: float = Field(default=0.9, gt=0, le=1)


class BiasConfig(_Record):
    """Clarify's BiasConfig: the facet (name_or_index), its sensitive values or a threshold
    (value_or_threshold; none: every value against the rest), and the group variable for CDDL/CDDPL."""

    Facet: str
    FacetValues: tuple[str, ...] = ()
    FacetThreshold: float | None = None
    GroupVariable: str | None = None
    LabelValues: tuple[str, ...] = ()  # positive labels; default: the baseline's positive class


BiasConfigT = BiasConfig


class MonitoringSchedule(_Record):
    MonitoringScheduleName: NameStr
    EndpointName: NameStr
    BaselineName: NameStr
    ScheduleConfig: ScheduleConfigT
    Monitors: tuple[MonitorSpec, ...] = Field(min_length=1)
    Bias: BiasConfigT | None = None
    GroundTruthS3Uri: str | None = None  # default: HOME/monitoring/ground-truth/ENDPOINT
    CaptureDestination: str | None = None  # default: the endpoint's DataCaptureConfig.DestinationS3Uri
    VariantName: NameStr | None = None  # default: every variant of the endpoint
    ModelDataUrl: str | None = None  # default: the endpoint's production model
    WindowOffsetSeconds: int = Field(default=0, ge=0)  # look this far back (labels arrive late)
    AlertTargets: tuple[str, ...] = ()
    RetrainCooldownSeconds: int = Field(default=86400, ge=0)
    CreationTime: datetime | None = None

    def monitor(self, kind: MonitoringType) -> MonitorSpec | None:
        return next((m for m in self.Monitors if m.MonitoringType is kind), None)

    @model_validator(mode="after")
    def _bias_needs_facet(self) -> MonitoringSchedule:
        if self.monitor(MonitoringType.ModelBias) is not None and self.Bias is None:
            raise ValueError("the bias monitor needs a facet (Bias.Facet, --facet)")
        return self


# --- alerts ----------------------------------------------------------------------------------------


class EventAction(StrEnum):
    """PagerDuty's event actions."""

    trigger = "trigger"
    resolve = "resolve"


EventActionT = EventAction


class Alert(_Record):
    """One alert event, before a channel shapes it (webhook: as it is; Slack; PagerDuty Events v2)."""

    EventAction: EventActionT
    DedupKey: str  # one incident per endpoint and monitor
    Severity: SeverityT
    Summary: str
    Source: str  # the endpoint
    Component: str  # the monitor
    MonitoringRunName: RecordIdStr
    Timestamp: datetime
    Violations: tuple[Violation, ...] = ()
    ReportUri: str | None = None
