"""Alarms that guard a deployment: definitions read from a policy file (YAML or JSON), evaluated on
sliding windows of each new-fleet variant's metrics.

File shape (``policies/alarms.yaml``)::

    alarms:
      - name: p99-latency
        metric: ModelLatency          # Invocations | Invocation4XXErrors | Invocation5XXErrors
                                      # | ModelLatency | OverheadLatency (latencies in microseconds)
        statistic: p99                # counts: Sum | Rate; latencies: Average | Maximum | p50 | p90 | p99
        threshold: 250000
        comparison: GreaterThanThreshold
        window_seconds: 30
        min_invocations: 20
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError as PydanticValidationError

from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.hosting import AlarmDefinition, AlarmMetric, AlarmStatistic

_KEYS = {
    "name": "AlarmName",
    "metric": "MetricName",
    "statistic": "Statistic",
    "threshold": "Threshold",
    "comparison": "ComparisonOperator",
    "window_seconds": "EvaluationWindowSeconds",
    "min_invocations": "MinimumInvocations",
    "description": "Description",
}


class MetricWindow(Protocol):
    """One variant's metrics over a sliding window (serving's metrics satisfy this)."""

    def count(self, metric: AlarmMetric) -> int: ...

    def latency(self, metric: AlarmMetric, statistic: AlarmStatistic) -> float | None:
        """Microseconds; None when the window holds no sample."""
        ...


@dataclass(frozen=True)
class AlarmEvaluation:
    alarm: AlarmDefinition
    variant: str
    value: float | None
    invocations: int
    fired: bool

    @property
    def reason(self) -> str:
        a = self.alarm
        value = "no data" if self.value is None else f"{self.value:.6g}"
        return (
            f"alarm {a.AlarmName}: {a.MetricName.value} {a.Statistic.value} of variant {self.variant} was {value} "
            f"over the last {a.EvaluationWindowSeconds:g}s ({self.invocations} invocations); "
            f"{a.ComparisonOperator.value} {a.Threshold:g}"
        )


def evaluate(alarm: AlarmDefinition, variant: str, window: MetricWindow) -> AlarmEvaluation:
    invocations = window.count(AlarmMetric.Invocations)
    value: float | None
    if alarm.MetricName.is_latency:
        value = window.latency(alarm.MetricName, alarm.Statistic)
    else:
        count = window.count(alarm.MetricName)
        if alarm.Statistic is AlarmStatistic.Rate:
            value = count / invocations if invocations else None
        else:
            value = float(count)
    fired = (
        value is not None
        and invocations >= alarm.MinimumInvocations
        and alarm.ComparisonOperator.breached(value, alarm.Threshold)
    )
    return AlarmEvaluation(alarm, variant, value, invocations, fired)


def first_breach(
    alarms: tuple[AlarmDefinition, ...], windows: Callable[[float], Mapping[str, MetricWindow]]
) -> AlarmEvaluation | None:
    """The first alarm that fires on any variant; ``windows(seconds)`` maps each variant to its window."""
    for alarm in alarms:
        for variant, window in windows(alarm.EvaluationWindowSeconds).items():
            result = evaluate(alarm, variant, window)
            if result.fired:
                return result
    return None


def parse_alarms(document: Any, source: str) -> dict[str, AlarmDefinition]:
    items = document.get("alarms") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ValidationError(source, 'expected a list of alarms under the key "alarms"')
    out: dict[str, AlarmDefinition] = {}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ValidationError(source, f"alarm {number} is not a mapping")
        unknown = sorted(set(item) - set(_KEYS) - set(_KEYS.values()))
        if unknown:
            raise ValidationError(source, f"alarm {number}: unknown keys {unknown}; known: {sorted(_KEYS)}")
        fields = {_KEYS.get(k, k): v for k, v in item.items()}
        try:
            alarm = AlarmDefinition.model_validate(fields)
        except PydanticValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "alarm"
            label = f"alarm {number} ({item.get('name', '?')})"
            raise ValidationError(source, f"{label}: {where}: {first['msg']}") from None
        if alarm.AlarmName in out:
            raise ValidationError(source, f"alarm {alarm.AlarmName!r} is defined twice")
        out[alarm.AlarmName] = alarm
    return out


def load_alarms(path: Path) -> dict[str, AlarmDefinition]:
    if not path.is_file():
        raise NotFoundError("alarms file", str(path))
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(text)
        else:
            import yaml

            document = yaml.safe_load(text)
    except Exception as e:  # yaml and json raise different types; both mean the same to the user
        raise ValidationError(str(path), f"not valid {path.suffix.lstrip('.') or 'YAML'}: {e}") from None
    return parse_alarms(document, str(path))


def resolve_alarms(
    names: tuple[str, ...], known: Mapping[str, AlarmDefinition], source: str
) -> tuple[AlarmDefinition, ...]:
    missing = [n for n in names if n not in known]
    if missing:
        raise ValidationError(
            "alarm", f"{', '.join(missing)} not defined in {source}; defined: {', '.join(sorted(known)) or 'none'}"
        )
    return tuple(known[n] for n in names)
