"""Tracer providers export by OTLP/HTTP only when an endpoint is configured (checked against a
local OTLP receiver), and trace context travels through headers into logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from common.logs import ContextFilter, JsonFormatter
from common.telemetry import build_tracer_provider, extract_trace_context, inject_trace_headers
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider


class Receiver:
    """What reached the local OTLP/HTTP receiver: (path, decoded export request)."""

    def __init__(self) -> None:
        self.url = ""
        self.exports: list[tuple[str, ExportTraceServiceRequest]] = []

    def service_names(self) -> list[str]:
        return [
            attribute.value.string_value
            for _, export in self.exports
            for spans in export.resource_spans
            for attribute in spans.resource.attributes
            if attribute.key == "service.name"
        ]


@contextlib.asynccontextmanager
async def otlp_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()

    async def accept(request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        receiver.exports.append((request.path, export))
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/{path:.*}", accept)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def _export_one_span(provider: TracerProvider) -> None:
    with provider.get_tracer("test").start_as_current_span("one"):
        pass
    # the OTLP exporter posts from the processor's thread: flush off the loop serving it
    await asyncio.to_thread(provider.force_flush)


async def test_no_exporter_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    async with otlp_receiver() as receiver:
        # an exporter built with the SDK's defaults would follow these to the receiver
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.url}/v1/traces")
        provider = build_tracer_provider("auth", None)
        await _export_one_span(provider)
        provider.shutdown()
    assert receiver.exports == []


async def test_otlp_exporter_when_an_endpoint_is_configured() -> None:
    async with otlp_receiver() as receiver:
        provider = build_tracer_provider("auth", receiver.url)
        await _export_one_span(provider)
        provider.shutdown()
    assert [path for path, _ in receiver.exports] == ["/v1/traces"]
    assert receiver.service_names() == ["auth"]
    assert provider.resource.attributes["service.name"] == "auth"


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
