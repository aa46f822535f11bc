"""Spans finished in this process while a block runs (the process's SDK tracer provider).

One tap is added to the provider once per process; each ``captured_spans`` block subscribes an
in-memory exporter to it for its duration (the SDK cannot remove a span processor).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class _Tap(SpanProcessor):
    def __init__(self) -> None:
        self.listeners: list[InMemorySpanExporter] = []

    def on_end(self, span: ReadableSpan) -> None:
        for listener in list(self.listeners):
            listener.export((span,))


_tap: _Tap | None = None


def _installed_tap() -> _Tap:
    global _tap
    if _tap is None:
        provider = trace.get_tracer_provider()
        assert isinstance(provider, TracerProvider), "no SDK tracer provider in this process"
        _tap = _Tap()
        provider.add_span_processor(_tap)
    return _tap


@contextlib.contextmanager
def captured_spans() -> Iterator[InMemorySpanExporter]:
    tap = _installed_tap()
    exporter = InMemorySpanExporter()
    tap.listeners.append(exporter)
    try:
        yield exporter
    finally:
        tap.listeners.remove(exporter)
