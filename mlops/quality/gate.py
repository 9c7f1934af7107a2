"""Running a suite on a table with great-expectations, and turning its result into our typed outcomes
plus great-expectations' own HTML rendering of the validation result (the page Data Docs shows)."""

from __future__ import annotations

import html as html_lib
import importlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from mlops.core.datasets import DataValidationResult, ExpectationOutcome
from mlops.quality.context import ephemeral_context
from mlops.quality.suite import build_suite

SAMPLE = 10  # unexpected values and row indices kept per expectation in our record


@dataclass(frozen=True)
class GateRun:
    success: bool
    outcomes: tuple[ExpectationOutcome, ...]
    html: str


def run_suite(frame: pd.DataFrame, suite_data: dict[str, Any], run_name: str) -> GateRun:
    context = ephemeral_context()
    suite = build_suite(suite_data)
    batch_definition = (
        context.data_sources.add_pandas(f"mlops-{uuid.uuid4().hex[:8]}")
        .add_dataframe_asset("dataset")
        .add_batch_definition_whole_dataframe("version")
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.reset_index(drop=True)})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE", "partial_unexpected_count": SAMPLE})
    outcomes = tuple(_outcome(r) for r in result.results)
    return GateRun(bool(result.success), outcomes, _render(result, run_name))


def _render(result: Any, run_name: str) -> str:
    from great_expectations.core.run_identifier import RunIdentifier

    renderer: Any = importlib.import_module("great_expectations.render.renderer").ValidationResultsPageRenderer
    view: Any = importlib.import_module("great_expectations.render.view").DefaultJinjaPageView
    result.meta["run_id"] = RunIdentifier(run_name=run_name, run_time=datetime.now().astimezone())
    return str(view().render(renderer().render(result)))


def _text(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "null"
    if value is None:
        return "null"
    return str(value)


def _errors(info: Any) -> str | None:
    """great-expectations reports an exception either flat or keyed by the metric that raised it."""
    if not info:
        return None
    if "exception_message" in info:
        return str(info["exception_message"]) if info.get("raised_exception") else None
    messages = [
        str(v.get("exception_message")) for v in info.values() if isinstance(v, dict) and v.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _describe(kind: str, kwargs: dict[str, Any]) -> str:
    column = kwargs.get("column")
    if kind == "expect_column_values_to_be_between":
        text = f"{column} between {kwargs.get('min_value')} and {kwargs.get('max_value')}"
    elif kind == "expect_column_values_to_be_in_set":
        values = [str(v) for v in kwargs.get("value_set", [])]
        shown = ", ".join(values[:12]) + (" …" if len(values) > 12 else "")
        text = f"{column} in {{{shown}}}"
    elif kind == "expect_column_values_to_not_be_null":
        text = f"{column} not null"
    elif kind == "expect_column_values_to_be_unique":
        text = f"{column} unique"
    elif kind == "expect_column_values_to_be_in_type_list":
        text = f"{column} of type {'/'.join(kwargs.get('type_list', [])[:3])}…"
    elif kind == "expect_table_row_count_to_be_between":
        text = f"row count between {kwargs.get('min_value')} and {kwargs.get('max_value')}"
    elif kind == "expect_table_columns_to_match_ordered_list":
        text = f"columns are {', '.join(kwargs.get('column_list', []))}"
    else:
        text = f"{kind} {json.dumps({k: v for k, v in kwargs.items() if k != 'batch_id'}, default=str)}"
    mostly = kwargs.get("mostly")
    if mostly is not None and mostly < 1:
        text += f" (at least {mostly:.0%} of rows)"
    return text


def _outcome(r: Any) -> ExpectationOutcome:
    config = r.expectation_config
    kwargs = dict(config.kwargs)
    result = dict(r.result or {})
    values = result.get("unexpected_list") or result.get("partial_unexpected_list") or []
    rows = result.get("unexpected_index_list") or result.get("partial_unexpected_index_list") or []
    observed = result.get("observed_value")
    details = result.get("details")
    if observed is not None and details:
        observed = f"{observed} {json.dumps(details, default=str)}"
    percent = result.get("unexpected_percent")
    return ExpectationOutcome(
        ExpectationType=config.type,
        Column=kwargs.get("column"),
        Success=bool(r.success),
        Description=_describe(config.type, kwargs),
        UnexpectedCount=result.get("unexpected_count"),
        UnexpectedPercent=None if percent is None else float(percent),
        UnexpectedValues=tuple(_text(v) for v in list(values)[:SAMPLE]),
        UnexpectedRows=tuple(int(i) for i in list(rows)[:SAMPLE] if isinstance(i, (int, float))),
        ObservedValue=None if observed is None else _text(observed),
        Error=_errors(r.exception_info),
    )


def with_summary(html: str, result: DataValidationResult) -> str:
    """great-expectations' page with our verdict on top: it stays readable offline, where the page's
    stylesheets (loaded from the web) are missing."""
    esc = html_lib.escape
    verdict = "PASSED" if result.Success else "FAILED"
    colour = "#1a7f37" if result.Success else "#cf222e"
    rows = []
    for change in result.SchemaChanges:
        rows.append(f"<tr><td>schema</td><td>{esc(change)}</td><td></td><td></td></tr>")
    for o in result.failed:
        count = f"{o.UnexpectedCount} ({o.UnexpectedPercent or 0:.2g}%)" if o.UnexpectedCount else ""
        sample = ", ".join(o.UnexpectedValues[:10])
        if o.UnexpectedRows:
            sample += f" at rows {', '.join(str(r) for r in o.UnexpectedRows[:10])}"
        if not sample and o.ObservedValue:
            sample = f"observed {o.ObservedValue[:300]}"
        if o.Error:
            sample += f" (error: {o.Error[:300]})"
        rows.append(
            f"<tr><td><code>{esc(o.ExpectationType)}</code></td><td>{esc(o.Description)}</td>"
            f"<td>{esc(count)}</td><td>{esc(sample)}</td></tr>"
        )
    table = (
        "<table border='1' cellpadding='4' style='border-collapse:collapse;font-size:13px'>"
        "<tr><th>expectation</th><th>what</th><th>unexpected rows</th><th>sample</th></tr>" + "".join(rows) + "</table>"
        if rows
        else ""
    )
    summary = (
        "<section id='mlops-summary' style='font-family:sans-serif;margin:16px;padding:12px;"
        f"border:2px solid {colour}'><h2 style='color:{colour};margin-top:0'>{verdict}: "
        f"{esc(result.DatasetName)} version {result.VersionNumber} ({esc(result.DatasetVersion[:12])})</h2>"
        f"<p>Suite <b>{esc(result.SuiteName)}</b>: {result.SuccessfulExpectations} of "
        f"{result.EvaluatedExpectations} expectations met.</p>{table}"
        "<p style='color:#666'>great-expectations' own rendering of the validation result follows.</p></section>"
        "<style>.modal{display:none}</style>"
    )
    start = html.find("<body")
    if start < 0:
        return summary + html
    end = html.index(">", start) + 1
    return html[:end] + summary + html[end:]
