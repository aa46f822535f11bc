"""What happens to a delivery whose handler failed: next retry tier or DLQ, confirmed, then ack.

``queue`` is the work queue (a delivery from ``<queue>.retry`` is handled as one of ``<queue>``).
A retry is published to its tier with routing key ``<queue>.retry``: the tier dead-letters it
there, not into the work queue, so it never queues ahead of fresh messages. A dead letter goes
to ``nerava.dlx`` with routing key ``<queue>`` (``<queue>.dlq``).

The copy keeps the body, ``message_id`` and properties; broker headers (``x-death*``,
``x-delivery-count``) are stripped; failure headers set (docs/architecture.md §3.5); trace context
of the current (consumer) span is injected, so retries stay in the originating trace. Only
after RabbitMQ confirmed the copy is the original acked; if the copy cannot be published the
original is requeued (the quorum delivery limit stops a loop). A crash between confirm and ack
yields a duplicate, which the consumer's inbox absorbs.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from aio_pika.abc import AbstractIncomingMessage
from common.telemetry import inject_trace_headers

from messaging import headers as h
from messaging.broker_errors import BROKER_ERRORS
from messaging.confirmed_publisher import ConfirmedPublisher
from messaging.failures import (
    FailureKind,
    classify,
    exception_message,
    exception_type_name,
    fingerprint,
    stack_tail,
)
from messaging.metrics import MessagingMetrics
from messaging.retry_policy import RetryPolicy
from messaging.topology import DLX_EXCHANGE, retry_queue_name

logger = logging.getLogger(__name__)


class FailureHandler:
    def __init__(
        self,
        publisher: ConfirmedPublisher,
        policy_for: Callable[[str], RetryPolicy],
        *,
        service: str,
        version: str,
        metrics: MessagingMetrics,
    ) -> None:
        self.publisher = publisher
        self.policy_for = policy_for
        self.failed_by = f"{service}@{version}/{socket.gethostname()}"
        self.metrics = metrics

    async def handle(self, raw: AbstractIncomingMessage, queue: str, exc: BaseException) -> None:
        classification = classify(exc)
        incoming = dict(raw.headers or {})
        failures_so_far = h.int_header(incoming, h.RETRY_ATTEMPT)
        policy = self.policy_for(queue)
        decision = policy.decide(
            classification.kind, failures_so_far, retry_after=classification.retry_after
        )
        now_ms = int(time.time() * 1000)
        headers = h.without_broker_headers(incoming)
        headers.update(
            {
                h.RETRY_ATTEMPT: failures_so_far + 1,
                h.RETRY_MAX: len(policy.schedule),
                h.FIRST_FAILED_AT: h.int_header(incoming, h.FIRST_FAILED_AT) or now_ms,
                h.LAST_FAILED_AT: now_ms,
                h.EXCEPTION_TYPE: exception_type_name(exc),
                h.EXCEPTION_MESSAGE: exception_message(exc),
                h.EXCEPTION_FINGERPRINT: fingerprint(exc),
                h.FAILURE_KIND: decision.kind.value,
                h.ORIGINAL_QUEUE: queue,
                h.ORIGINAL_EXCHANGE: h.str_header(incoming, h.ORIGINAL_EXCHANGE)
                if h.ORIGINAL_EXCHANGE in incoming
                else (raw.exchange or ""),
                h.ORIGINAL_ROUTING_KEY: h.str_header(incoming, h.ORIGINAL_ROUTING_KEY)
                or (raw.routing_key or queue),
                h.FAILED_BY: self.failed_by,
            }
        )
        headers.pop(h.NEXT_ATTEMPT_AT, None)
        routing_key = queue
        if decision.bucket is not None:
            exchange = decision.bucket.name
            routing_key = retry_queue_name(queue)
            headers[h.RETRY_TIER] = f"{decision.bucket.tier}.{decision.bucket.bucket}"
            headers[h.NEXT_ATTEMPT_AT] = now_ms + decision.bucket.ttl_ms
            outcome = "retried"
        else:
            exchange = DLX_EXCHANGE
            headers[h.EXCEPTION_STACK] = stack_tail(exc)
            outcome = "dead_lettered"
        inject_trace_headers(headers)
        try:
            await self.publisher.publish(
                exchange=exchange,
                routing_key=routing_key,
                body=raw.body,
                headers=headers,
                message_id=raw.message_id,
                correlation_id=raw.correlation_id,
                message_type=raw.type,
                content_type=raw.content_type,
                app_id=raw.app_id,
                timestamp=raw.timestamp,
            )
        except BROKER_ERRORS as publish_error:
            logger.error(
                "could not move a failed message; requeued",
                extra=_log(queue, raw, exc, decision.kind, target=exchange)
                | {"publish_error": f"{type(publish_error).__name__}: {publish_error}"[:300]},
            )
            await raw.nack(requeue=True)
            self.metrics.consumed.labels(queue, "requeued").inc()
            return
        await raw.ack()
        self.metrics.consumed.labels(queue, outcome).inc()
        level = logging.WARNING if decision.kind is FailureKind.TRANSIENT else logging.ERROR
        logger.log(
            level,
            "message %s",
            "scheduled for retry" if decision.bucket is not None else "dead-lettered",
            extra=_log(queue, raw, exc, decision.kind, target=exchange)
            | {"attempt": failures_so_far + 1},
            exc_info=exc if decision.bucket is None else None,
        )


def _log(
    queue: str, raw: AbstractIncomingMessage, exc: BaseException, kind: FailureKind, target: str
) -> dict[str, Any]:
    return {
        "queue": queue,
        "message_id": raw.message_id,
        "message_type": raw.type,
        "failure_kind": kind.value,
        "exception_type": exception_type_name(exc),
        "target": target,
    }
