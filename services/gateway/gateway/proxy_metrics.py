"""Prometheus metrics of the forwarding path (labelled children cached: no lookup per request)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "gateway_requests_total",
            "Requests through the gateway by upstream ('-' when answered at the edge) and status",
            ["upstream", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "gateway_request_duration_seconds",
            "Time from the request reaching the gateway to the end of its answer",
            ["upstream"],
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self._degraded = Counter(
            "gateway_rate_limit_degraded_total",
            "Requests let through without a rate-limit check because Redis was unreachable",
            ["route_class"],
            registry=registry,
        )
        self._request_children: dict[tuple[str, int], Any] = {}
        self._latency_children: dict[str, Any] = {}

    def observe(self, upstream: str, status: int, seconds: float) -> None:
        key = (upstream, status)
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._request_children[key] = self._requests.labels(upstream, str(status))
        counter.inc()
        histogram = self._latency_children.get(upstream)
        if histogram is None:
            histogram = self._latency_children[upstream] = self._latency.labels(upstream)
        histogram.observe(seconds)

    def rate_limit_degraded(self, route_class: str) -> None:
        self._degraded.labels(route_class).inc()
