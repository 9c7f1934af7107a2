"""Suggesting a great-expectations suite from a reference version, and loading a suite back.

great-expectations 1.x has no profiler any more, so the suggestion is ours, written with its expectation
classes: column order, column types, null rates, numeric ranges widened by a tolerance, categorical
domains, the label's declared classes, row-count bounds and uniqueness of key columns. The suite is
plain great-expectations JSON beside the dataset; edit it by hand and ``validate`` uses your edit.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from mlops.core.clock import utcnow
from mlops.core.datasets import ColumnSchema, ColumnType, DatasetVersion
from mlops.core.errors import ValidationError
from mlops.quality.context import ephemeral_context, gx

MAX_DOMAIN = 50  # a string column with at most this many values gets a value-set expectation

TYPE_LISTS: dict[ColumnType, list[str]] = {
    ColumnType.integer: ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "Int64"],
    ColumnType.float: [
        "float16",
        "float32",
        "float64",
        "Float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "Int64",
    ],
    ColumnType.boolean: ["bool", "boolean"],
    ColumnType.string: ["str", "object", "string"],
    ColumnType.datetime: [
        "datetime64",
        "datetime64[ns]",
        "datetime64[us]",
        "datetime64[ms]",
        "datetime64[s]",
        "datetime64[ns, UTC]",
    ],
}


def _native(value: Any) -> Any:
    """numpy scalars to plain Python for JSON."""
    return value.item() if hasattr(value, "item") else value


def suggest_suite(
    frame: pd.DataFrame, version: DatasetVersion, tolerance: float = 0.1, row_tolerance: float = 0.5
) -> dict[str, Any]:
    """The suite as great-expectations JSON (a dict), suggested from ``frame`` (the version's table)."""
    if not 0 <= tolerance < 10 or not 0 <= row_tolerance < 10:
        raise ValidationError("--tolerance", "tolerances are fractions, e.g. 0.1 for 10%")
    ephemeral_context()
    gxe: Any = gx().expectations

    rows = len(frame)
    encoding = version.Encoding
    identifiers = {d.Name for d in encoding.Dropped if d.Reason == "identifier"}
    suite = gx().ExpectationSuite(name=f"{version.DatasetName}-baseline")

    def note(text: str) -> dict[str, Any]:
        return {"notes": f"suggested from version {version.VersionNumber}: {text}"}

    suite.add_expectation(
        gxe.ExpectTableColumnsToMatchOrderedList(
            column_list=[str(c) for c in frame.columns], meta=note("the columns, in order")
        )
    )
    suite.add_expectation(
        gxe.ExpectTableRowCountToBeBetween(
            min_value=math.floor(rows * (1 - min(row_tolerance, 1))),
            max_value=math.ceil(rows * (1 + row_tolerance)),
            meta=note(f"{rows} rows, ±{row_tolerance:.0%}"),
        )
    )
    for column in version.Schema:
        name = column.Name
        series = frame[name]
        kind = column.Type
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=TYPE_LISTS[kind], meta=note(kind.value))
        )
        null_rate = column.NullCount / rows if rows else 0.0
        if null_rate == 0:
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=name, meta=note("no missing values")))
        elif null_rate < 1:
            mostly = round(max(0.0, 1 - null_rate - tolerance), 4)
            if mostly > 0:
                suite.add_expectation(
                    gxe.ExpectColumnValuesToNotBeNull(
                        column=name, mostly=mostly, meta=note(f"{null_rate:.1%} missing, tolerance {tolerance:.0%}")
                    )
                )
        if name in identifiers:
            suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column=name, meta=note("a key")))
            continue
        if name == encoding.LabelColumn and encoding.ProblemType.classification:
            values = sorted({_native(v) for v in series.dropna().unique()}, key=str)
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(
                    column=name, value_set=values, meta=note(f"the declared classes {', '.join(encoding.Classes)}")
                )
            )
        elif kind.numeric and series.notna().any():
            low, high = float(series.min()), float(series.max())
            span = (high - low) or abs(high) or 1.0
            lower, upper = low - tolerance * span, high + tolerance * span
            if low >= 0:
                lower = max(lower, 0.0)  # a non-negative column stays non-negative
            if kind is ColumnType.integer:
                lower, upper = math.floor(lower), math.ceil(upper)
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=lower,
                    max_value=upper,
                    meta=note(f"observed [{low:g}, {high:g}], widened by {tolerance:.0%} of the span"),
                )
            )
        elif kind is ColumnType.string and 0 < (column.DistinctCount or 0) <= MAX_DOMAIN:
            values = sorted(str(v) for v in series.dropna().unique())
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(column=name, value_set=values, meta=note("the observed categories"))
            )
    data: dict[str, Any] = suite.to_json_dict()
    data.pop("id", None)
    data["meta"] = {
        **data.get("meta", {}),
        "mlops": {
            "dataset": version.DatasetName,
            "reference_version": version.Version,
            "reference_version_number": version.VersionNumber,
            "tolerance": tolerance,
            "row_tolerance": row_tolerance,
            "schema": [{"Name": c.Name, "Type": c.Type.value} for c in version.Schema],
            "created": utcnow().isoformat(),
        },
    }
    return data


def suite_sha256(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def read_suite(path: Path) -> dict[str, Any]:
    """The suite's JSON, checked by great-expectations itself; errors name the file."""
    if not path.exists():
        raise ValidationError(str(path), "no suite yet; suggest one with `mlops data baseline NAME`")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValidationError(str(path), f"not valid JSON: line {e.lineno}: {e.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise ValidationError(str(path), "not a great-expectations suite (no 'expectations' list)")
    build_suite(data, str(path))
    return data


def build_suite(data: dict[str, Any], where: str = "suite") -> Any:
    """A great_expectations.ExpectationSuite from its JSON, or a ValidationError naming what is wrong."""
    ephemeral_context()
    fields = {k: v for k, v in data.items() if k in ("name", "expectations", "meta", "notes")}
    fields.setdefault("name", "suite")
    for number, item in enumerate(fields["expectations"], start=1):
        try:
            gx().ExpectationSuite(name="check", expectations=[item])
        except Exception as e:  # great-expectations raises its own and pydantic's errors
            text = str(e).split("\n")[0]
            kind = item.get("type") if isinstance(item, dict) else None
            raise ValidationError(where, f"expectation {number} ({kind or '?'}): {text}") from None
    return gx().ExpectationSuite(**fields)


def schema_changes(data: dict[str, Any], schema: tuple[ColumnSchema, ...]) -> tuple[str, ...]:
    """What changed since the baseline's reference schema: missing and new columns, changed types."""
    reference = data.get("meta", {}).get("mlops", {}).get("schema")
    if not reference:
        return ()
    before = {c["Name"]: c["Type"] for c in reference}
    now = {c.Name: c.Type.value for c in schema}
    changes = [f"column {name} is missing" for name in before if name not in now]
    changes += [f"column {name} is new" for name in now if name not in before]
    changes += [
        f"column {name} changed type {before[name]} -> {now[name]}"
        for name in before
        if name in now and before[name] != now[name] and {before[name], now[name]} != {"integer", "float"}
    ]
    return tuple(changes)
