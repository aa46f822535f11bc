from __future__ import annotations

import json
import logging

from common.logs import ContextFilter, JsonFormatter
from common.telemetry import build_tracer_provider, extract_trace_context, inject_trace_headers
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider


def _exporters(provider: TracerProvider) -> list[object]:
    processors = provider._active_span_processor._span_processors
    return [getattr(p, "span_exporter", None) for p in processors]


def test_no_exporter_without_an_endpoint() -> None:
    assert _exporters(build_tracer_provider("auth", None)) == []


def test_otlp_exporter_when_an_endpoint_is_configured() -> None:
    provider = build_tracer_provider("auth", "http://collector:4318")
    exporters = _exporters(provider)
    assert len(exporters) == 1 and isinstance(exporters[0], OTLPSpanExporter)
    assert provider.resource.attributes["service.name"] == "auth"
    provider.shutdown()


def test_trace_context_round_trips_through_headers_and_reaches_logs() -> None:
    tracer = build_tracer_provider("auth", None).get_tracer("test")
    with tracer.start_as_current_span("publish") as span:
        headers = inject_trace_headers({})
        record = logging.makeLogRecord({"msg": "inside", "levelname": "INFO", "name": "t"})
        ContextFilter("auth").filter(record)
        line = json.loads(JsonFormatter().format(record))
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert headers["traceparent"].split("-")[1] == trace_id
    assert line["trace_id"] == trace_id
    with tracer.start_as_current_span("consume", context=extract_trace_context(headers)) as child:
        assert child.get_span_context().trace_id == span.get_span_context().trace_id
