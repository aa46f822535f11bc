"""OpenTelemetry: a tracer provider per process, OTLP export only when an endpoint is set."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

logger = logging.getLogger(__name__)

_provider: TracerProvider | None = None
_instrumented: set[str] = set()
_callbacks_tracer = trace.get_tracer("nerava.callbacks")


def build_tracer_provider(service_name: str, otlp_endpoint: str | None) -> TracerProvider:
    """A tracer provider that exports by OTLP/HTTP only when an endpoint is configured."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        logger.info("tracing exports to OTLP", extra={"otlp_endpoint": otlp_endpoint})
    return provider


def setup_tracing(service_name: str, otlp_endpoint: str | None) -> TracerProvider:
    """Install the process-wide tracer provider once; later calls return it."""
    global _provider
    if _provider is not None:
        return _provider
    provider = build_tracer_provider(service_name, otlp_endpoint)
    trace.set_tracer_provider(provider)
    _provider = provider
    _instrument_libraries()
    return provider


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    for name, instrumentor in (
        ("redis", RedisInstrumentor()),
        ("aiohttp", AioHttpClientInstrumentor()),
    ):
        if name not in _instrumented:
            instrumentor.instrument()
            _instrumented.add(name)


_UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in _UNTRACED_PATHS


def fastapi_telemetry() -> TelemetryConfig:
    """FastAPI's own OpenTelemetry support, as ``FastAPI(telemetry=...)``.

    One server span per request, named ``<method> <route template>``, continuing the caller's
    ``traceparent``; probes and ``/metrics`` untraced. Per-operation spans (dependencies,
    endpoint, serialisation) are off: they carry nothing an operator uses and cost a tenth of a
    busy endpoint's CPU. HTTP metrics are Prometheus's (``common.metrics``), logs ours.
    """
    return {
        "tracing": True,
        "operation_spans": False,
        "metrics": False,
        "logs": False,
        "exclude": _untraced,
    }


def inject_trace_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """Writes W3C ``traceparent``/``tracestate`` of the current span into ``headers``."""
    propagate.inject(headers)
    return headers


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span (None when nothing is traced): stored with
    a record whose later callbacks (Twilio's, Stripe's) should continue this trace."""
    value = inject_trace_headers({}).get("traceparent")
    return str(value) if value else None


@contextmanager
def continued_span(name: str, traceparent: str | None) -> Iterator[trace.Span]:
    """A span in the trace ``traceparent`` names, linked to the current one (the callback's own
    request): the later part of an earlier action, arriving through an outside party. Without
    a stored traceparent it is a child of the current span."""
    current = trace.get_current_span().get_span_context()
    parent = extract_trace_context({"traceparent": traceparent}) if traceparent else None
    links = [trace.Link(current)] if traceparent and current.is_valid else []
    with _callbacks_tracer.start_as_current_span(name, context=parent, links=links) as span:
        yield span


def extract_trace_context(headers: dict[str, Any]) -> Any:
    return propagate.extract({k: v for k, v in headers.items() if isinstance(v, str)})
