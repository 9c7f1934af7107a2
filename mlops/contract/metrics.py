"""Metric lines in the training log, in a form SageMaker-style MetricDefinitions regexes pick up.

A line looks like ``#metric validation:auc=0.912345 step=12``. The matching MetricDefinition is
``{"Name": "validation:auc", "Regex": "#metric validation:auc=([-+0-9.eE]+|nan|inf)"}`` (see
``metric_definition``). The last value in the log is the job's final value, as in SageMaker.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

NUMBER = r"([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf))"


def metric_line(name: str, value: float, step: int | None = None) -> str:
    suffix = f" step={step}" if step is not None else ""
    return f"#metric {name}={value:.6g}{suffix}"


def log_metric(name: str, value: float, step: int | None = None, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(metric_line(name, value, step) + "\n")
    out.flush()


def metric_regex(name: str) -> str:
    return "#metric " + re.escape(name) + "=" + NUMBER


def metric_definition(name: str) -> dict[str, str]:
    return {"Name": name, "Regex": metric_regex(name)}


STEP = re.compile(r" step=(\d+)")


def step_of(line: str) -> int | None:
    m = STEP.search(line)
    return int(m.group(1)) if m else None
