"""The consuming side of a service: one FastStream broker (its own connection), the failure
middleware, and the confirmed publisher the middleware republishes on (a separate connection).

Each subscription consumes two queues with the same handler, each on a channel of its own whose
prefetch is its concurrency: the work queue (``QUEUE_PREFETCH``, default ``DEFAULT_PREFETCH``)
and ``<queue>.retry``, where the retry tiers deliver (``QUEUE_RETRY_PREFETCH``, default
``DEFAULT_RETRY_PREFETCH``). A storm of retries therefore waits in its own queue and takes at most
its own prefetch of handlers; fresh messages never queue behind it. Both deliver with the work
queue as ``Delivery.consumer`` (one inbox, one retry policy, one DLQ).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage

from messaging.confirmed_publisher import ConfirmedPublisher
from messaging.failure_handler import FailureHandler
from messaging.metrics import MessagingMetrics
from messaging.middleware import failure_middleware
from messaging.retry_policy import RetryPolicy
from messaging.settings import MessagingSettings
from messaging.subscriber import Subscription, make_delivery
from messaging.topology import WorkQueue, parse_tiers, retry_queue_name


async def _message_as_is(message: Any) -> Any:
    """What the listener is called with: the message itself. The handler reads the envelope
    from it, so FastStream neither decodes the JSON body nor injects the message: the broker
    runs without FastDepends, whose ``Context("message")`` is resolved in a worker thread, one
    thread hop per consumed message."""
    return message


D = TypeVar("D")


def _named(
    consume: Callable[[RabbitMessage], Awaitable[None]], name: str
) -> Callable[[RabbitMessage], Awaitable[None]]:
    """A function of its own per consumed queue (its name labels the subscriber)."""

    async def listener(message: RabbitMessage) -> None:
        await consume(message)

    listener.__name__ = name
    return listener


class ConsumerRuntime(Generic[D]):
    def __init__(
        self,
        settings: MessagingSettings,
        subscriptions: Sequence[Subscription[D]],
        *,
        deps: D,
        version: str = "0",
        metrics: MessagingMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.subscriptions = list(subscriptions)
        self.deps = deps
        self.metrics = metrics or MessagingMetrics()
        tiers = parse_tiers(settings.retry_tiers)
        by_name = {t.name: t for t in tiers}
        self._policies = {
            s.queue: RetryPolicy([by_name[n] for n in settings.retry_schedule(s.queue)], tiers)
            for s in self.subscriptions
        }
        self._default_policy = RetryPolicy(
            [by_name[n] for n in settings.retry_default_schedule], tiers
        )
        self.publisher = ConfirmedPublisher(
            settings.rabbitmq_url,
            name=f"{settings.service_name}-republish",
            timeout_s=settings.publish_timeout_seconds,
        )
        self.failures = FailureHandler(
            self.publisher,
            lambda queue: self._policies.get(queue, self._default_policy),
            service=settings.service_name,
            version=version,
            metrics=self.metrics,
        )
        self.broker = RabbitBroker(
            settings.rabbitmq_url,
            graceful_timeout=settings.graceful_timeout_seconds,
            app_id=settings.service_name,
            log_level=logging.DEBUG,  # the per-message INFO log costs 15-30 % of consume rate
            apply_types=False,  # listeners get the message from the decoder (_message_as_is)
            middlewares=[
                failure_middleware(
                    self.failures, handler_timeout_s=settings.handler_timeout_seconds
                )
            ],
        )
        for subscription in self.subscriptions:
            self._register(subscription)

    def work_queues(self) -> list[WorkQueue]:
        return [s.work_queue(self.settings.delivery_limit_for(s.queue)) for s in self.subscriptions]

    def policy(self, queue: str) -> RetryPolicy:
        return self._policies.get(queue, self._default_policy)

    def _register(self, subscription: Subscription[D]) -> None:
        queue_name = subscription.queue
        handler = subscription.handler

        async def consume(message: RabbitMessage) -> None:
            raw = message.raw_message
            delivery = make_delivery(raw.body, raw.headers or {}, queue_name, self.deps)
            await handler(delivery)

        consumed = (
            (queue_name, self.settings.prefetch(queue_name)),
            (retry_queue_name(queue_name), self.settings.retry_prefetch(queue_name)),
        )
        for name, prefetch in consumed:
            listener = _named(consume, f"consume_{name.replace('.', '_').replace('-', '_')}")
            self.broker.subscriber(
                RabbitQueue(name, declare=False),
                channel=Channel(prefetch_count=prefetch),
                ack_policy=AckPolicy.MANUAL,
                no_reply=True,
                decoder=_message_as_is,
            )(listener)

    async def start(self) -> None:
        await self.publisher.connect()
        await self.broker.start()

    async def stop(self) -> None:
        """Stops consuming, waits up to the graceful timeout for handlers in flight, closes."""
        try:
            await self.broker.stop()
        finally:
            await self.publisher.close()
