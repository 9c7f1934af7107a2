"""Per-variant metrics with SageMaker's names: Invocations, Invocation4XXErrors, Invocation5XXErrors,
ModelLatency and OverheadLatency (microseconds), as running totals and over a sliding window.

The window is a ring of one-second slots; each slot keeps counts and sparse log-bucketed latency
histograms (5% wide buckets), so recording costs a few microseconds and a percentile over any window
up to the ring's length is a merge of a few small dicts. Percentiles answer a bucket's upper bound:
never more than 5% above the true value.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping

from mlops.core.hosting import AlarmMetric, AlarmStatistic, DataCaptureStatistics

_RATIO = 1.05
_FIRST_US = 1.0
BOUNDS_US: tuple[float, ...] = tuple(_FIRST_US * _RATIO**i for i in range(int(math.log(600e6) / math.log(_RATIO)) + 2))
WINDOW_SECONDS = 600
QUANTILES = (0.5, 0.9, 0.99)


class _Slot:
    __slots__ = (
        "e4",
        "e5",
        "invocations",
        "model",
        "model_max",
        "model_sum",
        "overhead",
        "overhead_max",
        "overhead_sum",
        "second",
    )

    def __init__(self, second: int) -> None:
        self.second = second
        self.invocations = 0
        self.e4 = 0
        self.e5 = 0
        self.model: dict[int, int] = {}
        self.overhead: dict[int, int] = {}
        self.model_sum = 0.0
        self.overhead_sum = 0.0
        self.model_max = 0.0
        self.overhead_max = 0.0


def _quantile(histogram: dict[int, int], total: int, q: float) -> float | None:
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return BOUNDS_US[min(bucket, len(BOUNDS_US) - 1)]
    return BOUNDS_US[-1]


class WindowSnapshot:
    """One variant's metrics merged over a window; satisfies deploy's MetricWindow."""

    def __init__(self, slots: Iterable[_Slot]) -> None:
        self.invocations = self.e4 = self.e5 = 0
        self.model: dict[int, int] = {}
        self.overhead: dict[int, int] = {}
        self.model_sum = self.overhead_sum = 0.0
        self.model_max = self.overhead_max = 0.0
        for s in slots:
            self.invocations += s.invocations
            self.e4 += s.e4
            self.e5 += s.e5
            self.model_sum += s.model_sum
            self.overhead_sum += s.overhead_sum
            self.model_max = max(self.model_max, s.model_max)
            self.overhead_max = max(self.overhead_max, s.overhead_max)
            for k, v in s.model.items():
                self.model[k] = self.model.get(k, 0) + v
            for k, v in s.overhead.items():
                self.overhead[k] = self.overhead.get(k, 0) + v

    def count(self, metric: AlarmMetric) -> int:
        if metric is AlarmMetric.Invocation4XXErrors:
            return self.e4
        if metric is AlarmMetric.Invocation5XXErrors:
            return self.e5
        return self.invocations

    def latency(self, metric: AlarmMetric, statistic: AlarmStatistic) -> float | None:
        model = metric is AlarmMetric.ModelLatency
        histogram = self.model if model else self.overhead
        samples = sum(histogram.values())
        if samples == 0:
            return None
        if statistic is AlarmStatistic.Average:
            return (self.model_sum if model else self.overhead_sum) / samples
        if statistic is AlarmStatistic.Maximum:
            return self.model_max if model else self.overhead_max
        q = {AlarmStatistic.p50: 0.5, AlarmStatistic.p90: 0.9, AlarmStatistic.p99: 0.99}.get(statistic)
        return None if q is None else _quantile(histogram, samples, q)


class VariantMetrics:
    """Counters and latencies of one variant of one fleet (endpoint config) of one endpoint."""

    def __init__(
        self,
        endpoint: str,
        variant: str,
        config: str,
        role: str = "production",
        window_seconds: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self.variant = variant
        self.config = config
        self.role = role
        self.clock = clock
        self._ring = [_Slot(-1) for _ in range(window_seconds)]
        self.invocations = 0
        self.e4 = 0
        self.e5 = 0
        self.model_sum = 0.0
        self.overhead_sum = 0.0
        self.latency_count = 0

    def record(self, status: int, model_us: float, overhead_us: float | None, now: float | None = None) -> None:
        second = int(self.clock() if now is None else now)
        ring = self._ring
        slot = ring[second % len(ring)]
        if slot.second != second:
            slot = ring[second % len(ring)] = _Slot(second)
        slot.invocations += 1
        self.invocations += 1
        if status >= 500:
            slot.e5 += 1
            self.e5 += 1
        elif status >= 400:
            slot.e4 += 1
            self.e4 += 1
        if model_us >= 0:
            b = bisect_left(BOUNDS_US, model_us)
            slot.model[b] = slot.model.get(b, 0) + 1
            slot.model_sum += model_us
            if model_us > slot.model_max:
                slot.model_max = model_us
            self.model_sum += model_us
            self.latency_count += 1
            if overhead_us is not None:
                b = bisect_left(BOUNDS_US, overhead_us)
                slot.overhead[b] = slot.overhead.get(b, 0) + 1
                slot.overhead_sum += overhead_us
                if overhead_us > slot.overhead_max:
                    slot.overhead_max = overhead_us
                self.overhead_sum += overhead_us

    def window(self, seconds: float, now: float | None = None) -> WindowSnapshot:
        current = int(self.clock() if now is None else now)
        oldest = current - min(len(self._ring), max(1, math.ceil(seconds))) + 1
        return WindowSnapshot(s for s in self._ring if oldest <= s.second <= current)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(**values: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in values.items()) + "}"


class PrometheusText:
    """Prometheus' text exposition format, one family at a time."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[str, str, list[str]]] = {}

    def add(self, name: str, kind: str, help_text: str, label_text: str, value: float) -> None:
        family = self._families.setdefault(name, (kind, help_text, []))
        family[2].append(f"{name}{label_text} {_number(value)}")

    def add_sample(
        self, family_name: str, kind: str, help_text: str, sample: str, label_text: str, value: float
    ) -> None:
        family = self._families.setdefault(family_name, (kind, help_text, []))
        family[2].append(f"{sample}{label_text} {_number(value)}")

    def render(self) -> str:
        out: list[str] = []
        for name, (kind, help_text, samples) in self._families.items():
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(samples)
        return "\n".join(out) + "\n"


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def add_variant(text: PrometheusText, m: VariantMetrics, window_seconds: float = 60.0) -> None:
    base = labels(endpoint=m.endpoint, variant=m.variant, config=m.config, role=m.role)
    text.add(
        "mlops_invocations_total", "counter", "InvokeEndpoint requests answered by the variant", base, m.invocations
    )
    text.add("mlops_invocation_4xx_errors_total", "counter", "answers with a 4xx status", base, m.e4)
    text.add("mlops_invocation_5xx_errors_total", "counter", "answers with a 5xx status (or no answer)", base, m.e5)
    snapshot = m.window(window_seconds)
    for metric, family, total in (
        (AlarmMetric.ModelLatency, "mlops_model_latency_seconds", m.model_sum),
        (AlarmMetric.OverheadLatency, "mlops_overhead_latency_seconds", m.overhead_sum),
    ):
        help_text = f"{metric.value}: quantiles over the last {window_seconds:g}s, sum and count since start"
        for q, stat in zip(QUANTILES, (AlarmStatistic.p50, AlarmStatistic.p90, AlarmStatistic.p99), strict=True):
            value = snapshot.latency(metric, stat)
            quantile_labels = labels(
                endpoint=m.endpoint, variant=m.variant, config=m.config, role=m.role, quantile=f"{q:g}"
            )
            text.add_sample(
                family, "summary", help_text, family, quantile_labels, float("nan") if value is None else value / 1e6
            )
        text.add_sample(family, "summary", help_text, f"{family}_sum", base, total / 1e6)
        text.add_sample(family, "summary", help_text, f"{family}_count", base, m.latency_count)


def add_capture(text: PrometheusText, statistics: Mapping[str, DataCaptureStatistics]) -> None:
    """The capture writer's counts per endpoint (``CaptureWriter.statistics()``)."""
    for endpoint, s in sorted(statistics.items()):
        base = labels(endpoint=endpoint)
        text.add("mlops_capture_records_total", "counter", "capture records written to a file", base, s.WrittenRecords)
        text.add(
            "mlops_capture_failed_total",
            "counter",
            "capture records that could not be written (I/O error, full disk): in no file",
            base,
            s.FailedRecords,
        )
        text.add(
            "mlops_capture_dropped_total",
            "counter",
            "capture records dropped because the writer's queue was full (its byte cap)",
            base,
            s.DroppedRecords,
        )
        text.add("mlops_capture_queue", "gauge", "capture records waiting for the writer", base, s.QueuedRecords)
        text.add("mlops_capture_queue_bytes", "gauge", "bytes of capture records waiting", base, s.QueuedBytes)
        text.add(
            "mlops_capture_pending_uploads",
            "gauge",
            "spooled capture files waiting for their s3:// upload",
            base,
            s.PendingUploads,
        )
        text.add(
            "mlops_capture_failed_uploads_total", "counter", "capture uploads that failed (retried)", base,
            s.FailedUploads,
        )  # fmt: skip
        text.add(
            "mlops_capture_last_error_timestamp_seconds",
            "gauge",
            "when the capture writer last failed (0: never)",
            base,
            s.LastErrorTime.timestamp() if s.LastErrorTime else 0,
        )
