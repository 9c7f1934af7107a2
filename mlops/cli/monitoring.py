"""`mlops monitor …` and `mlops ground-truth …`: baselines, schedules, runs and labels."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops.cli.arguments import add_command, as_dict, key_value
from mlops.cli.table import Column, print_table
from mlops.core.errors import ValidationError
from mlops.core.monitoring import (
    BiasConfig,
    CapturedColumns,
    MonitoringExecutionStatus,
    MonitoringRun,
    MonitoringType,
    Severity,
    parse_monitors,
)
from mlops.settings import Settings

EPILOG = """examples:
  mlops monitor baseline churn --version 4 --model TRAINING_JOB    # or a model name, or a model.tar.gz
  mlops monitor baseline data/churn.csv --name churn --model model.tar.gz
  mlops monitor schedule churn-endpoint --every 1h \\
      --monitors data-quality,data-drift,model-quality,bias,attribution \\
      --facet gender --label churn --ground-truth s3://bucket/labels/ --alert oncall --retrain data-drift,model-quality
  mlops monitor run churn-endpoint --window 1h        # exit 0: clean, 1: violations, 3: the run failed
  mlops monitor runs churn-endpoint
  mlops ground-truth upload churn-endpoint labels.jsonl
"""


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else ()


def _service() -> Any:
    """The monitoring use cases, imported when a command runs (they load pandas: seconds, not at `mlops --help`)."""
    from mlops.services import monitoring

    return monitoring


def _wired(settings: Settings) -> Any:
    """The monitoring use cases' collaborators, from settings."""
    from mlops.services.monitoring_wiring import monitoring_from_settings

    return monitoring_from_settings(settings)


def add_monitoring_parsers(sub: Any) -> None:
    parser = sub.add_parser(
        "monitor",
        help="baselines, schedules and runs of data-quality, drift, model-quality, bias and attribution monitors",
        description="Monitor an endpoint's captured traffic against a baseline: Model Monitor's constraints, "
        "evidently's drift tests, Clarify's bias metrics and attribution drift; alert on-call and ask for "
        "retraining.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    actions = parser.add_subparsers(dest="monitor_command", required=True, metavar="ACTION")

    p = add_command(
        actions, "baseline", "statistics and suggested constraints from training data",
        "Make a baseline: Model Monitor's statistics and suggested constraints from a dataset version (or a "
        "file), and with --model the model-quality, bias and attribution baselines, scored on the rows the "
        "model never saw (the held-out split of its training job).",
        "examples:\n"
        "  mlops monitor baseline churn --model TRAINING_JOB\n"
        "  mlops monitor baseline data/churn.csv --name churn --model model.tar.gz",
    )
    p.add_argument("dataset", help="a dataset of the store (mlops data) or a CSV/Parquet file")
    p.add_argument("--version", help="the dataset version (ordinal, hash prefix or latest)")
    p.add_argument("--name", help="the baseline's name (default: the dataset's)")
    p.add_argument("--label", help="files only: the label column (default: named like the file, or label/target)")
    p.add_argument("--model", help="a model.tar.gz, a model (mlops models) or a training job: enables the "
                   "model-quality, bias and attribution baselines")  # fmt: skip
    p.add_argument("--prediction-column", help="the file already holds the model's scores in this column")
    p.add_argument("--threshold", type=float, default=0.5, help="probability threshold of a positive prediction")
    p.add_argument("--facet", help="also compute Clarify's bias baseline for this column")
    p.add_argument("--facet-value", action="append", default=[], help="the facet's sensitive value (repeat)")
    p.add_argument("--group-variable", help="the group column of CDDL / CDDPL")
    p.add_argument("--raw-capture", action="store_true", help="captured requests hold raw columns, not encoded rows")
    p.add_argument("--force", action="store_true", help="replace an existing baseline of the same name")
    p.set_defaults(func=cmd_baseline)

    p = add_command(
        actions, "schedule", "write a monitoring schedule for an endpoint",
        "Write a monitoring schedule (a YAML file under HOME/monitoring/schedules): which monitors judge the "
        "endpoint's captured traffic, how often, who is alerted (targets of HOME/alerting.yaml) and which "
        "violations ask for retraining.",
        "examples:\n"
        "  mlops monitor schedule churn --every 1h --monitors data-quality,data-drift\n"
        "  mlops monitor schedule churn --facet gender --label churn --alert oncall --retrain data-drift",
    )
    p.add_argument("endpoint")
    p.add_argument("--every", default="1h", help="30m, 1h, 1d … (default 1h)")
    p.add_argument("--monitors", default="all", help="comma-separated: " + ",".join(m.value for m in MonitoringType))
    p.add_argument("--name", help="the schedule's name (default: the endpoint's)")
    p.add_argument("--baseline", help="the baseline (default: the only one)")
    p.add_argument("--facet", help="the bias monitor's facet column")
    p.add_argument(
        "--facet-value", action="append", default=[], help="its sensitive value (repeat; default: each value)"
    )
    p.add_argument("--facet-threshold", type=float, help="a numeric facet: values above it are the sensitive group")
    p.add_argument("--group-variable", help="the group column of CDDL / CDDPL")
    p.add_argument("--label", help="the label column (checked against the baseline)")
    p.add_argument("--label-value", action="append", default=[], help="the positive label (repeat)")
    p.add_argument("--ground-truth", help="where labels are uploaded (a folder or s3:// prefix)")
    p.add_argument("--alert", action="append", default=[], help="alert targets of alerting.yaml (repeat or comma)")
    p.add_argument("--retrain", default="", help="monitors whose violations ask for retraining (comma-separated)")
    p.add_argument("--cooldown", default="24h", help="no second retraining within this (default 24h)")
    p.add_argument(
        "--severity", action="append", default=[], metavar="MONITOR=SEVERITY", help="critical|error|warning|info",
        type=key_value("--severity", "data-drift=warning", "MONITOR=SEVERITY"),
    )
    p.add_argument(
        "--drift-method", action="append", default=[], metavar="COLUMN=METHOD", help="evidently's test for a column",
        type=key_value("--drift-method", "age=psi", "COLUMN=METHOD"),
    )
    p.add_argument("--capture", help="the capture destination (default: the endpoint config's)")
    p.add_argument("--model", help="the model to explain (default: the endpoint's)")
    p.add_argument("--offset", help="monitor windows this far in the past (labels arrive late), e.g. 1d")
    p.set_defaults(func=cmd_schedule)

    p = add_command(
        actions, "schedules", "list monitoring schedules",
        "List the monitoring schedules of this home: each one's endpoint, how often it runs and its monitors.",
        "example:\n  mlops monitor schedules",
    )
    p.set_defaults(func=cmd_schedules)

    p = add_command(
        actions, "run", "run a schedule's monitors over one window now",
        "Run a schedule's monitors now over the captured traffic of one window (default: the last hour), "
        "write the run record, violations.json and one HTML report, and alert. Exit 0 clean, 1 violations, 3 "
        "the run failed.",
        "examples:\n  mlops monitor run churn --window 1h\n  mlops monitor run churn --window 1d --no-alerts --json",
    )
    p.add_argument("schedule", help="a schedule or its endpoint")
    p.add_argument("--window", default="1h", help="the window's length, ending now (default 1h)")
    p.add_argument("--end", help="the window's end (ISO 8601, default now)")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")
    p.add_argument("--no-alerts", action="store_true", help="do not alert")
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    p.set_defaults(func=cmd_run)

    p = add_command(
        actions, "runs", "list an endpoint's monitoring runs",
        "List an endpoint's monitoring runs, newest last, with their status and how many violations each found.",
        "example:\n  mlops monitor runs churn",
    )
    p.add_argument("endpoint")
    p.set_defaults(func=cmd_runs)

    gt = sub.add_parser("ground-truth", help="upload labels for captured inferences")
    gt_actions = gt.add_subparsers(dest="ground_truth_command", required=True, metavar="ACTION")
    p = add_command(
        gt_actions, "upload", "labels joined to captured inferences by inference id",
        'Upload ground-truth labels for captured inferences, joined by inference id. JSON lines: '
        '{"inferenceId": "…", "groundTruthLabel": 1} or Model Monitor\'s '
        '{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "…"}, "eventVersion": "0"}',
        "example:\n  mlops ground-truth upload churn labels.jsonl",
    )
    p.add_argument("endpoint")
    p.add_argument("file")
    p.add_argument("--keep-unknown", action="store_true", help="keep labels for inference ids not captured (yet)")
    p.set_defaults(func=cmd_ground_truth_upload)


def cmd_baseline(args: argparse.Namespace, settings: Settings) -> int:
    bias = (
        BiasConfig(Facet=args.facet, FacetValues=tuple(args.facet_value), GroupVariable=args.group_variable)
        if args.facet
        else None
    )
    baseline = _service().create_baseline(
        _wired(settings),
        _service().BaselineRequest(
            dataset=args.dataset,
            version=args.version,
            name=args.name,
            label=args.label,
            model=args.model,
            prediction_column=args.prediction_column,
            probability_threshold=args.threshold,
            captured=CapturedColumns.raw if args.raw_capture else CapturedColumns.encoded,
            bias=bias,
            force=args.force,
        ),
    )
    m = baseline.manifest
    print(f"baseline {m.BaselineName} from {m.Source}: {m.RowCount} rows, {len(m.Columns)} columns, "
          f"{m.ReferenceRows} reference rows")  # fmt: skip
    parts = ["statistics.json", "constraints.json"]
    if baseline.model_quality_statistics is not None:
        parts.append("model-quality/")
    if baseline.attribution is not None:
        parts.append(f"attribution.json ({m.AttributionMethod})")
    parts += [f"bias/{facet}.json" for facet in baseline.bias]
    print(f"  {baseline.folder}: {', '.join(parts)}")
    if m.Rows is not None:
        held_out = m.Rows.HeldOut or not (m.ModelDataUrl or m.HasPredictions)
        print(
            f"  {'rows' if held_out else 'warning: rows'}: {m.Rows.Description}",
            file=sys.stdout if held_out else sys.stderr,
        )
    for note in m.Notes:
        print(f"  note: {note}", file=sys.stderr)
    if not m.HasPredictions:
        print("  no model: the model-quality, bias (post-training) and attribution monitors need --model")
    return 0


def cmd_schedule(args: argparse.Namespace, settings: Settings) -> int:
    severities = {}
    for key, value in as_dict(args.severity, "--severity").items():
        try:
            severities[parse_monitors(key)[0]] = Severity(value)
        except ValueError:
            raise ValidationError("--severity", f"{value!r}: use critical, error, warning or info") from None
    schedule, path = _service().create_schedule(
        _wired(settings),
        _service().ScheduleRequest(
            endpoint=args.endpoint,
            every=args.every,
            monitors=parse_monitors(args.monitors),
            name=args.name,
            baseline=args.baseline,
            facet=args.facet,
            facet_values=tuple(args.facet_value),
            facet_threshold=args.facet_threshold,
            group_variable=args.group_variable,
            label=args.label,
            label_values=tuple(args.label_value),
            ground_truth=args.ground_truth,
            alert=tuple(args.alert),
            retrain=parse_monitors(args.retrain) if args.retrain else (),
            severity=severities,
            cooldown=args.cooldown,
            capture=args.capture,
            model=args.model,
            offset=args.offset,
            drift_methods=as_dict(args.drift_method, "--drift-method"),
        ),
    )
    monitors = ", ".join(m.MonitoringType.value + (" (retrain)" if m.Retrain else "") for m in schedule.Monitors)
    print(f"schedule {schedule.MonitoringScheduleName}: {schedule.ScheduleConfig.ScheduleExpression}, {monitors}")
    print(f"  {path}")
    return 0


def cmd_schedules(args: argparse.Namespace, settings: Settings) -> int:
    schedules = _service().list_schedules(_wired(settings))
    if not schedules:
        print("no monitoring schedules; create one with `mlops monitor schedule ENDPOINT`")
        return 0
    print_table(
        (Column("NAME", elide="never"), Column("ENDPOINT"), Column("EVERY"), Column("MONITORS")),
        [(s.MonitoringScheduleName, s.EndpointName, s.ScheduleConfig.ScheduleExpression,
          ",".join(m.MonitoringType.value for m in s.Monitors)) for s in schedules],
    )
    return 0


def print_run(run: MonitoringRun) -> None:
    print(f"run {run.MonitoringRunName}: {run.MonitoringExecutionStatus.value}")
    c = run.Capture
    print(f"  window {run.WindowStart.isoformat()} .. {run.WindowEnd.isoformat()}: {c.Rows} rows from {c.Records} "
          f"records in {c.Files} files; malformed lines {c.MalformedLines}, truncated {c.TruncatedLines}, "
          f"undecodable records {c.UndecodableRecords}, skipped rows {c.SkippedRows}")  # fmt: skip
    if run.GroundTruth is not None:
        g = run.GroundTruth
        print(f"  ground truth: {g.Labels} labels, {g.MatchedRows} rows matched, {g.MalformedLines} malformed lines")
    if run.FailureReason:
        print(f"  {run.FailureReason}")
    for result in run.Monitors:
        extra = f" ({result.FailureReason})" if result.FailureReason else ""
        print(f"  {result.MonitoringType.value:14} {result.MonitoringExecutionStatus.value}{extra}")
        for v in result.Violations:
            print(f"    - {v.constraint_check_type} {v.subject}: {v.description}")
    if run.Retrain is not None:
        if run.Retrain.Retrain:
            print(f"  retrain: requested, not started - recorded in {run.Retrain.RequestUri}; the monitoring DAG "
                  f"starts the training pipeline on it - {run.Retrain.Reason}")  # fmt: skip
        else:
            print(f"  retrain: no - {run.Retrain.Reason}")
    for a in run.Alerts:
        state = "delivered" if a.Delivered else f"NOT delivered ({a.Error}; kept in the outbox)"
        print(f"  alert {a.EventAction} {a.DedupKey} -> {a.Target}/{a.Channel}: {state}")
    if run.ReportUri:
        print(f"  report: {run.ReportUri}")
    if run.ViolationsUri:
        print(f"  violations: {run.ViolationsUri}")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    end = None
    if args.end:
        try:
            end = datetime.fromisoformat(args.end)
        except ValueError:
            raise ValidationError("--end", f"{args.end!r} is not an ISO 8601 time") from None
        if end.tzinfo is None:
            raise ValidationError("--end", "give a time zone, e.g. 2026-11-22T03:00:00+00:00")
    run = _service().run_now(
        _wired(settings),
        args.schedule,
        args.window,
        end,
        _service().RunRequest(html=not args.no_report, alerts=not args.no_alerts),
    )
    if args.json:
        print(_service().describe_json(run))
    else:
        print_run(run)
    status = run.MonitoringExecutionStatus
    if status is MonitoringExecutionStatus.Failed:
        return 3
    return 1 if status is MonitoringExecutionStatus.CompletedWithViolations else 0


def cmd_runs(args: argparse.Namespace, settings: Settings) -> int:
    runs = _service().list_runs(_wired(settings), args.endpoint)
    if not runs:
        print(f"no monitoring runs for {args.endpoint}")
        return 0
    print_table(
        (Column("RUN", elide="never"), Column("STATUS"), Column("VIOLATIONS", align=">"), Column("WINDOW")),
        [(run.MonitoringRunName, run.MonitoringExecutionStatus.value, str(len(run.violations)),
          f"{run.WindowStart:%Y-%m-%d %H:%M} - {run.WindowEnd:%H:%M}") for run in runs],
    )
    return 0


def cmd_ground_truth_upload(args: argparse.Namespace, settings: Settings) -> int:
    result = _service().upload_ground_truth(_wired(settings), args.endpoint, Path(args.file), args.keep_unknown)
    parsed = result.parsed
    print(f"stored {result.stored} labels for {args.endpoint} in {result.uri}")
    if parsed.malformed:
        print(f"  {parsed.malformed} malformed line(s) left out:", file=sys.stderr)
        for problem in parsed.problems:
            print(f"    {problem}", file=sys.stderr)
    if result.unknown:
        verb = "kept" if args.keep_unknown else "refused"
        print(f"  {len(result.unknown)} label(s) for inference ids never captured were {verb}: "
              f"{', '.join(result.unknown[:5])}", file=sys.stderr)  # fmt: skip
    return 0
