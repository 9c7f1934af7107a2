"""Sliding-window metrics, the Prometheus text, the routing table and instance choice."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from mlops.core.hosting import AlarmMetric, AlarmStatistic
from mlops.serving.metrics import PrometheusText, VariantMetrics, add_variant
from mlops.serving.router import EndpointRoutes, FleetRoutes, Instance, VariantPool


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_counters_and_percentiles_within_five_percent() -> None:
    clock = Clock()
    m = VariantMetrics("ep", "blue", "cfg", clock=clock)
    for i in range(1, 1001):  # 1..1000 ms
        m.record(200 if i % 10 else 503 if i % 20 else 404, i * 1000.0, 50.0)
    w = m.window(60)
    assert (w.count(AlarmMetric.Invocations), w.count(AlarmMetric.Invocation5XXErrors),
            w.count(AlarmMetric.Invocation4XXErrors)) == (1000, 50, 50)
    for stat, true in ((AlarmStatistic.p50, 500_000), (AlarmStatistic.p90, 900_000), (AlarmStatistic.p99, 990_000)):
        value = w.latency(AlarmMetric.ModelLatency, stat)
        assert value is not None and true <= value <= true * 1.05
    assert w.latency(AlarmMetric.ModelLatency, AlarmStatistic.Maximum) == 1_000_000
    assert w.latency(AlarmMetric.ModelLatency, AlarmStatistic.Average) == pytest.approx(500_500)
    assert w.latency(AlarmMetric.OverheadLatency, AlarmStatistic.p50) == pytest.approx(50, rel=0.05)


def test_the_window_slides() -> None:
    clock = Clock()
    m = VariantMetrics("ep", "blue", "cfg", clock=clock)
    for _ in range(10):
        m.record(500, 100.0, 10.0)
    clock.now += 30
    for _ in range(5):
        m.record(200, 100.0, 10.0)
    assert m.window(10).count(AlarmMetric.Invocations) == 5
    assert m.window(60).count(AlarmMetric.Invocations) == 15
    clock.now += 700  # past the ring: everything old is gone, totals remain
    assert m.window(600).count(AlarmMetric.Invocations) == 0
    assert m.window(600).latency(AlarmMetric.ModelLatency, AlarmStatistic.p99) is None
    assert (m.invocations, m.e5) == (15, 10)


def test_prometheus_text_format() -> None:
    m = VariantMetrics("churn", "blue", "cfg-1", clock=Clock())
    for _ in range(3):
        m.record(200, 2000.0, 100.0)
    text = PrometheusText()
    add_variant(text, m)
    out = text.render()
    assert '# TYPE mlops_invocations_total counter' in out
    assert 'mlops_invocations_total{endpoint="churn",variant="blue",config="cfg-1",role="production"} 3' in out
    assert '# TYPE mlops_model_latency_seconds summary' in out
    assert re.search(r'mlops_model_latency_seconds\{[^}]*quantile="0.99"\} 0\.002', out)
    assert 'mlops_model_latency_seconds_count{endpoint="churn",variant="blue",config="cfg-1",role="production"} 3' in out
    sample = re.compile(r'^[a-z_0-9]+(\{([a-z_]+="[^"]*",?)*\})? [-0-9.e+NaInf]+$')
    for line in out.splitlines():
        assert line.startswith("# ") or sample.match(line), line


def pool(name: str, config: str = "cfg1", instances: int = 1) -> VariantPool:
    p = VariantPool("ep", name, f"model-{name}", config)
    p.instances = [Instance(f"{name}-{i}", f"http://127.0.0.1:{9000 + i}") for i in range(instances)]
    return p


def spread(routes: EndpointRoutes, n: int = 10_000) -> Counter[str]:
    counts: Counter[str] = Counter()
    for i in range(n):
        chosen = routes.choose((i + 0.5) / n)
        assert chosen is not None
        counts[f"{chosen[1].config_name}/{chosen[0].name}"] += 1
    return counts


def test_weights_within_a_fleet_and_shares_between_fleets() -> None:
    blue, green = pool("blue"), pool("green")
    fleet = FleetRoutes("cfg1", [(blue, 3.0), (green, 1.0)])
    assert spread(EndpointRoutes("ep", [(fleet, 1.0)])) == {"cfg1/blue": 7500, "cfg1/green": 2500}
    new = FleetRoutes("cfg2", [(pool("blue", "cfg2"), 1.0)])
    counts = spread(EndpointRoutes("ep", [(fleet, 0.9), (new, 0.1)]))
    assert counts["cfg2/blue"] == 1000 and counts["cfg1/blue"] == 6750 and counts["cfg1/green"] == 2250
    assert spread(EndpointRoutes("ep", [(fleet, 0.0), (new, 1.0)])) == {"cfg2/blue": 10_000}


def test_target_variant_reaches_a_zero_weight_variant_and_unknown_names_are_refused() -> None:
    blue, shadowed = pool("blue"), pool("green")
    routes = EndpointRoutes("ep", [(FleetRoutes("cfg1", [(blue, 1.0), (shadowed, 0.0)]), 1.0)])
    assert {routes.choose(r / 100)[0].name for r in range(100)} == {"blue"}  # type: ignore[index]
    chosen = routes.choose_variant("green", 0.3)
    assert chosen is not None and chosen[0] is shadowed
    assert routes.choose_variant("purple", 0.3) is None
    assert sorted(routes.variant_names()) == ["blue", "green"]


def test_all_zero_weights_route_nothing() -> None:
    routes = EndpointRoutes("ep", [(FleetRoutes("cfg1", [(pool("blue"), 0.0)]), 1.0)])
    assert routes.choose(0.5) is None


def test_least_outstanding_then_round_robin_and_unhealthy_instances_skipped() -> None:
    p = pool("blue", instances=3)
    a, b, c = p.instances
    assert {p.pick().instance_id for _ in range(6)} == {"blue-0", "blue-1", "blue-2"}  # type: ignore[union-attr]
    a.outstanding, b.outstanding, c.outstanding = 3, 0, 2
    assert all(p.pick() is b for _ in range(5))
    b.healthy = False
    assert all(p.pick() is c for _ in range(5))
    a.healthy = c.healthy = False
    assert p.pick() is None
    single = pool("solo")
    single.instances[0].healthy = False
    assert single.pick() is None


def test_a_variant_without_a_healthy_instance_falls_back_to_one_that_has_one() -> None:
    blue, green = pool("blue"), pool("green", "cfg2")
    old, new = FleetRoutes("cfg1", [(blue, 1.0)]), FleetRoutes("cfg2", [(green, 1.0)])
    routes = EndpointRoutes("ep", [(old, 0.5), (new, 0.5)])
    green.instances[0].healthy = False
    assert routes.fallback(green, 0.7) == (blue, old)
    blue.instances[0].healthy = False
    assert routes.fallback(green, 0.7) is None
