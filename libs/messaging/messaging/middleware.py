"""The one broker middleware of every consumer: tracing, a bounded handler time, ack on
success, and the failure protocol (``FailureHandler``) on any exception.

Subscribers run with ``AckPolicy.MANUAL``: this middleware alone settles each delivery. A
handler cancelled during shutdown leaves its delivery unsettled (redelivered later). A delivery
from ``<queue>.retry`` fails, counts and routes as one of ``<queue>`` (its source queue).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from common.telemetry import extract_trace_context
from faststream import BaseMiddleware
from faststream._internal.context.repository import ContextRepo
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from messaging.failure_handler import FailureHandler
from messaging.failures import TransientError
from messaging.topology import source_queue

_tracer = trace.get_tracer("messaging")


class FailureMiddleware(BaseMiddleware):
    handler: FailureHandler
    handler_timeout_s: float

    def __init__(self, msg: Any, /, *, context: ContextRepo) -> None:
        super().__init__(msg, context=context)
        self._span: trace.Span | None = None
        self._token: object | None = None

    @property
    def raw(self) -> AbstractIncomingMessage:
        message = self.msg
        assert message is not None
        return message  # type: ignore[no-any-return]

    def _consumed(self) -> str:
        subscriber = self.context.get("handler_")
        return str(subscriber.queue.name)

    def _queue(self) -> str:
        return source_queue(self._consumed())

    async def on_receive(self) -> None:
        raw = self.raw
        parent = extract_trace_context(dict(raw.headers or {}))
        self._span = _tracer.start_span(
            f"{self._queue()} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": self._queue(),
                "messaging.rabbitmq.consumed_queue": self._consumed(),
                "messaging.message.id": raw.message_id or "",
                "messaging.message.type": raw.type or "",
            },
        )
        self._token = otel_context.attach(trace.set_span_in_context(self._span))

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        async with asyncio.timeout(self.handler_timeout_s):
            return await call_next(msg)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        span = self._span
        try:
            if exc_val is None:
                await self.raw.ack()
                self.handler.metrics.consumed.labels(self._queue(), "acked").inc()
                return False
            if not isinstance(exc_val, Exception):
                return False  # cancelled at shutdown, SystemExit: leave the delivery unsettled
            if span is not None:
                _record_failure(span, exc_val)
            await self.handler.handle(self.raw, self._queue(), exc_val)
            return True
        finally:
            if self._token is not None:
                otel_context.detach(self._token)  # type: ignore[arg-type]
            if span is not None:
                span.end()


def _record_failure(span: trace.Span, exc: Exception) -> None:
    """A transient failure (the retry tiers take it: a provider down, a lock busy) is recorded
    as its exception event without the stack trace, which costs more CPU to format than the
    rest of a failed attempt's bookkeeping and says nothing the type and message do not; any
    other failure (a bug, a poison message: the DLQ's) keeps its trace."""
    if isinstance(exc, TransientError):
        span.add_event(
            "exception",
            {
                "exception.type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                "exception.message": str(exc),
            },
        )
    else:
        span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def failure_middleware(
    handler: FailureHandler, *, handler_timeout_s: float
) -> type[FailureMiddleware]:
    """A middleware class bound to one service's failure handler (FastStream instantiates it per
    message)."""
    return type(
        "BoundFailureMiddleware",
        (FailureMiddleware,),
        {"handler": handler, "handler_timeout_s": handler_timeout_s},
    )
