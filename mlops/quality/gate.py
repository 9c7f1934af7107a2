"""Running a suite on a table with great-expectations, and turning its result into our typed outcomes
(the HTML page is rendered from those by ``report.py``)."""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlops.core.datasets import ExpectationOutcome
from mlops.quality.context import ephemeral_context
from mlops.quality.suite import build_suite

SAMPLE = 10  # unexpected values and row indices kept per expectation in our record


@dataclass(frozen=True)
class GateRun:
    success: bool
    outcomes: tuple[ExpectationOutcome, ...]


def run_suite(frame: pd.DataFrame, suite_data: dict[str, Any]) -> GateRun:
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
    return GateRun(bool(result.success), outcomes)


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
