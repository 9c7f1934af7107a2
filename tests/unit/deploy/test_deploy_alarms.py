"""Alarm files and alarm evaluation on metric windows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.hosting import AlarmDefinition, AlarmMetric, AlarmStatistic
from mlops.deploy.alarms import evaluate, first_breach, load_alarms, resolve_alarms
from mlops.serving.metrics import VariantMetrics

REPO = Path(__file__).resolve().parents[3]


def window(latencies_us: list[float], statuses: list[int] | None = None) -> VariantMetrics:
    m = VariantMetrics("ep", "v", "cfg", clock=lambda: 1000.0)
    for i, latency in enumerate(latencies_us):
        m.record((statuses or [])[i] if statuses else 200, latency, 100.0)
    return m


def alarm(**fields: object) -> AlarmDefinition:
    base: dict[str, object] = {"AlarmName": "a", "MetricName": "ModelLatency", "Statistic": "p99", "Threshold": 1000}
    return AlarmDefinition.model_validate({**base, **fields})


def test_the_repository_alarms_file_parses() -> None:
    alarms = load_alarms(REPO / "policies" / "alarms.yaml")
    assert {"p99-latency", "error-rate"} <= set(alarms)
    assert alarms["p99-latency"].MetricName is AlarmMetric.ModelLatency
    assert alarms["error-rate"].Statistic is AlarmStatistic.Rate


def test_json_files_and_sagemaker_style_keys(tmp_path: Path) -> None:
    path = tmp_path / "alarms.json"
    path.write_text(json.dumps({"alarms": [
        {"AlarmName": "slow", "MetricName": "OverheadLatency", "Statistic": "p90", "Threshold": 2000},
        {"name": "errors", "metric": "Invocation5XXErrors", "statistic": "Sum", "threshold": 0,
         "comparison": "GreaterThanThreshold", "window_seconds": 10, "min_invocations": 1},
    ]}))
    alarms = load_alarms(path)
    assert alarms["slow"].EvaluationWindowSeconds == 60 and alarms["errors"].EvaluationWindowSeconds == 10


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("alarms:\n  - name: x\n    metric: ModelLatency\n    statistic: Sum\n    threshold: 1\n", "is a latency"),
        ("alarms:\n  - name: x\n    metric: Invocations\n    statistic: p99\n    threshold: 1\n", "is a count"),
        ("alarms:\n  - name: x\n    metric: Latency\n    statistic: p99\n    threshold: 1\n", "MetricName"),
        ("alarms:\n  - name: x\n    metrc: ModelLatency\n", "unknown keys"),
        ("alarms: {}\n", "expected a list"),
        ("alarms: [\n", "not valid"),
        ("alarms:\n  - {name: x, metric: Invocations, statistic: Sum, threshold: 1}\n"
         "  - {name: x, metric: Invocations, statistic: Sum, threshold: 2}\n", "defined twice"),
    ],
)
def test_bad_alarm_files_say_what_is_wrong(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "alarms.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=needle):
        load_alarms(path)


def test_missing_file_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_alarms(tmp_path / "nope.yaml")
    known = load_alarms(REPO / "policies" / "alarms.yaml")
    with pytest.raises(ValidationError, match="p42-latency not defined"):
        resolve_alarms(("p99-latency", "p42-latency"), known, "alarms.yaml")
    assert [a.AlarmName for a in resolve_alarms(("error-rate",), known, "x")] == ["error-rate"]


def test_latency_percentile_alarm() -> None:
    fast = window([500.0] * 99 + [5000.0])
    slow = window([500.0] * 90 + [5000.0] * 10)
    a = alarm(Threshold=1000)
    assert not evaluate(a, "v", fast.window(60)).fired  # p99 of 100 samples is the 99th: 500 µs
    result = evaluate(a, "v", slow.window(60))
    assert result.fired and result.value == pytest.approx(5000, rel=0.05)
    assert "alarm a: ModelLatency p99 of variant v" in result.reason and "GreaterThanThreshold 1000" in result.reason


def test_minimum_invocations_and_rates() -> None:
    errors = window([100.0] * 10, [500] + [200] * 9)
    rate = alarm(MetricName="Invocation5XXErrors", Statistic="Rate", Threshold=0.05, MinimumInvocations=20)
    assert not evaluate(rate, "v", errors.window(60)).fired  # too few invocations to judge
    rate = rate.model_copy(update={"MinimumInvocations": 10})
    result = evaluate(rate, "v", errors.window(60))
    assert result.fired and result.value == pytest.approx(0.1)
    total = alarm(MetricName="Invocation4XXErrors", Statistic="Sum", Threshold=0)
    assert not evaluate(total, "v", errors.window(60)).fired


def test_comparisons_and_empty_windows() -> None:
    few = alarm(MetricName="Invocations", Statistic="Sum", Threshold=5, ComparisonOperator="LessThanThreshold")
    assert evaluate(few, "v", window([1.0] * 3).window(60)).fired
    assert not evaluate(few, "v", window([1.0] * 5).window(60)).fired
    assert not evaluate(alarm(), "v", window([]).window(60)).fired  # no data never fires


def test_first_breach_names_the_variant() -> None:
    windows = {"blue": window([100.0] * 50), "green": window([9000.0] * 50)}
    breach = first_breach((alarm(Threshold=1000),), lambda seconds: {k: v.window(seconds) for k, v in windows.items()})
    assert breach is not None and breach.variant == "green"
    assert first_breach((alarm(Threshold=10_000),), lambda s: {k: v.window(s) for k, v in windows.items()}) is None


def test_an_alarm_refuses_the_monitoring_only_deviation_operator() -> None:
    """One ComparisonOperator serves alarms and model-quality constraints; the deviation from a baseline is
    a constraint's only: an alarm has no baseline to deviate from."""
    from pydantic import ValidationError as PydanticValidationError

    with pytest.raises(PydanticValidationError, match="compares with a baseline"):
        alarm(ComparisonOperator="DeviationGreaterThanThreshold")
    assert alarm(ComparisonOperator="LessThanThreshold").ComparisonOperator.breached(1.0, 2.0)
