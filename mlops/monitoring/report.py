"""The run's HTML report: one page per monitoring run with the run, the endpoint, the window and every
monitor's result (status, rows judged, each violation with its baseline, observed value, threshold and
noise band), and evidently's report embedded as one section.

evidently's part runs ``DataDriftPreset`` with the drift monitor's own methods and per-column thresholds
(so its verdicts are the monitor's) and, when ground truth was joined, its classification or regression
preset, over a sample of the window (``MAX_ROWS``) and of the baseline's reference: evidently renders every
widget while it computes, so the full window would cost minutes where the sample costs seconds; the
violations themselves are computed on the whole window.
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.core.datasets import ProblemType
from mlops.core.files import write_atomic
from mlops.core.monitoring import MonitoringRun, MonitoringType, MonitorResult, MonitorSpec, Violation
from mlops.monitoring.constraints import is_categorical

MAX_ROWS = 20_000
TARGET, PREDICTION = "target", "prediction"


def _sample(frame: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), rows, replace=False))]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(str)
    return out


def evidently_html(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    spec: MonitorSpec | None = None,
    problem: ProblemType | None = None,
    reference_outcomes: tuple[np.ndarray, np.ndarray] | None = None,
    current_outcomes: tuple[np.ndarray, np.ndarray] | None = None,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> tuple[str, int]:
    """evidently's report as HTML to embed (an iframe), and the number of window rows it shows. Outcomes
    are (labels, predicted labels or values) aligned with the frames' rows, where ground truth is known."""
    from evidently import BinaryClassification, DataDefinition, Dataset, MulticlassClassification, Regression, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset, RegressionPreset

    from mlops.monitoring.drift import column_thresholds, register_methods

    register_methods()
    rng = np.random.default_rng(seed)
    columns = [c for c in reference.columns if c in current.columns]
    ref, cur = reference[columns], current[columns]
    categorical = [str(c) for c in columns if is_categorical(reference[c])]
    numerical = [str(c) for c in columns if str(c) not in categorical]
    spec = spec or MonitorSpec(MonitoringType=MonitoringType.DataDrift)
    methods, thresholds = column_thresholds(ref, cur, spec)
    metrics: list[object] = [
        DataDriftPreset(
            columns=[str(c) for c in columns],
            drift_share=spec.DriftShare,
            per_column_method=methods,
            per_column_threshold=thresholds or None,
        )
    ]
    task: dict[str, object] = {}
    if problem is not None and reference_outcomes is not None and current_outcomes is not None:
        ref = ref.assign(**{TARGET: reference_outcomes[0], PREDICTION: reference_outcomes[1]})
        cur = cur.assign(**{TARGET: current_outcomes[0], PREDICTION: current_outcomes[1]})
        ref, cur = ref.dropna(subset=[TARGET]), cur.dropna(subset=[TARGET])
        if len(cur) and len(ref):
            if problem is ProblemType.Regression:
                task["regression"] = [Regression(target=TARGET, prediction=PREDICTION)]
                metrics.append(RegressionPreset())
            else:
                ref, cur = ref.astype({TARGET: int, PREDICTION: int}), cur.astype({TARGET: int, PREDICTION: int})
                kind = BinaryClassification if problem is ProblemType.BinaryClassification else MulticlassClassification
                task["classification"] = [kind(target=TARGET, prediction_labels=PREDICTION)]
                metrics.append(ClassificationPreset())
    ref, cur = _plain(_sample(ref, max_rows, rng)), _plain(_sample(cur, max_rows, rng))
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical, **task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report(metrics, include_tests=True).run(
            current_data=Dataset.from_pandas(cur, data_definition=definition),
            reference_data=Dataset.from_pandas(ref, data_definition=definition),
        )
    return snapshot.get_html_str(as_iframe=True), len(cur)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.Completed { color: #17692c; } .CompletedWithViolations { color: #b00020; font-weight: bold; }
.Failed { color: #b00020; } .Skipped { color: #8a6d00; }
section.evidently iframe { width: 100%; min-height: 1200px; border: 1px solid #ccc; }
"""


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _violations(violations: tuple[Violation, ...]) -> str:
    if not violations:
        return ""
    head = "<tr><th>check</th><th>feature / metric</th><th>baseline</th><th>observed</th><th>threshold</th>" \
           "<th>noise band</th><th>rows</th><th>description</th></tr>"  # fmt: skip
    rows = []
    for v in violations:
        subject = " / ".join(x for x in (v.feature_name, v.facet and f"{v.facet}={v.facet_value}", v.metric_name) if x)
        rows.append(
            "<tr>" + "".join(f"<td>{_cell(x)}</td>" for x in (v.constraint_check_type, subject, v.baseline_value,
                             v.observed_value, v.threshold, v.noise_band, v.window_rows, v.description)) + "</tr>"
        )  # fmt: skip
    return f"<table>{head}{''.join(rows)}</table>"


def _monitor(result: MonitorResult) -> str:
    status = result.MonitoringExecutionStatus.value
    parts = [
        f"<h3>{html.escape(result.MonitoringType.value)}: <span class='{status}'>{status}</span></h3>",
        f"<p>{result.Rows} rows judged" + (f", {result.SampledRows} sampled" if result.SampledRows else "")
        + f"; {result.DurationSeconds:.2f} s</p>",
    ]  # fmt: skip
    if result.FailureReason:
        parts.append(f"<p>{html.escape(result.FailureReason)}</p>")
    parts.append(_violations(result.Violations))
    if result.Notes:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.Notes)
        parts.append(f"<details><summary>notes ({len(result.Notes)})</summary><ul>{notes}</ul></details>")
    return "\n".join(parts)


def run_page(run: MonitoringRun, evidently: str | None, evidently_note: str) -> str:
    """The run's page: the run, the endpoint, the window and every monitor's result, then evidently's
    report (``evidently``: its embeddable HTML, None when it was not rendered; ``evidently_note`` says
    what it shows or why it is absent)."""
    c = run.Capture
    facts = [
        ("endpoint", run.EndpointName),
        ("schedule", run.MonitoringScheduleName or "-"),
        ("baseline", run.BaselineName),
        ("window", f"{run.WindowStart.isoformat()} .. {run.WindowEnd.isoformat()}"),
        ("status", run.MonitoringExecutionStatus.value),
        ("captured", f"{c.Rows} rows from {c.Records} records in {c.Files} files; malformed lines "
                     f"{c.MalformedLines}, truncated {c.TruncatedLines}, undecodable {c.UndecodableRecords}, "
                     f"skipped rows {c.SkippedRows}"),
    ]  # fmt: skip
    if run.GroundTruth is not None:
        g = run.GroundTruth
        facts.append(("ground truth", f"{g.Labels} labels, {g.MatchedRows} rows matched"))
    if run.FailureReason:
        facts.append(("failures", run.FailureReason))
    summary = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    title = f"Monitoring run {run.MonitoringRunName} — {run.EndpointName}"
    evidently_part = evidently or ""
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n<table>{summary}</table>\n"
        f"<h2>Monitors</h2>\n{''.join(_monitor(m) for m in run.Monitors)}\n"
        f"<section class='evidently'><h2>evidently: data drift and model performance</h2>"
        f"<p>{html.escape(evidently_note)}</p>\n{evidently_part}</section>\n</body></html>\n"
    )


def write_report(path: Path, run: MonitoringRun, evidently: str | None, evidently_note: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, run_page(run, evidently, evidently_note))
    return path
