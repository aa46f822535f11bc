"""The subscriber helper: a service declares its work queues, bindings and handlers.

In a service's ``consumers.py`` (decode with the service's own reader model -> call a handler;
no SQL, no commit)::

    subscriptions: Subscriptions[Deps] = Subscriptions()

    @subscriptions.subscribe("notifications.consent", events=[UserConsentChanged.message_type])
    async def on_user_consent_changed(delivery: Delivery[Deps]) -> None:
        event = delivery.read(UserConsentChanged)       # a Reader in notifications/contracts.py
        await consent_handlers.record_consent(delivery.deps, event, delivery)

and ``main.py`` passes ``consumers.subscriptions`` and the service's deps to ``open_messaging``.
The handler gets a :class:`Delivery`: the envelope, the consumer name (the queue: use it with the
inbox), the attempt number and ``deps`` (typed: what the service's handlers may touch). Raise to
fail: the failure middleware classifies and routes the message. A handler that publishes in
turn passes ``**delivery.follow_up()`` to ``Outbox.add`` (correlation, causation).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from messaging import headers as h
from messaging.contracts import Message, Payload, read
from messaging.envelope import Envelope
from messaging.topology import (
    COMMANDS_EXCHANGE,
    DLQ_SUFFIX,
    EVENTS_EXCHANGE,
    RETRY_SUFFIX,
    Binding,
    WorkQueue,
)

D = TypeVar("D")
P = TypeVar("P", bound=Payload)


@dataclass(frozen=True)
class Delivery(Generic[D]):
    envelope: Envelope
    consumer: str
    attempt: int
    replay_count: int
    headers: Mapping[str, Any]
    deps: D

    @property
    def message_id(self) -> uuid.UUID:
        return self.envelope.message_id

    def read(self, model: type[P]) -> P:
        """The payload as ``model`` (unknown fields ignored); a mismatch is poison (DLQ)."""
        return read(self.envelope, model)

    def follow_up(self) -> dict[str, str | None]:
        """Keyword arguments for ``Outbox.add`` of a message this one causes: the same
        correlation id (the originating request), causation = this message."""
        return {
            "correlation_id": self.envelope.correlation_id,
            "causation_id": str(self.envelope.message_id),
        }


Handler = Callable[[Delivery[D]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[D]):
    queue: str
    bindings: tuple[Binding, ...]
    handler: Handler[D]

    def work_queue(self, delivery_limit: int) -> WorkQueue:
        return WorkQueue(self.queue, self.bindings, delivery_limit=delivery_limit)


def _key(message: str | type[Message]) -> str:
    return message if isinstance(message, str) else message.routing_key()


@dataclass
class Subscriptions(Generic[D]):
    items: list[Subscription[D]] = field(default_factory=list)

    def subscribe(
        self,
        queue: str,
        *,
        events: Sequence[str | type[Message]] = (),
        commands: Sequence[str | type[Message]] = (),
    ) -> Callable[[Handler[D]], Handler[D]]:
        """Binds ``queue`` to event types on ``nerava.events`` and command types on
        ``nerava.commands`` (each command type must have exactly one owner queue)."""
        if any(s.queue == queue for s in self.items):
            raise ValueError(f"queue {queue} already has a handler")
        if queue.endswith((RETRY_SUFFIX, DLQ_SUFFIX)):
            raise ValueError(f"queue {queue}: the {RETRY_SUFFIX} and {DLQ_SUFFIX} names are taken")
        bindings = tuple(Binding(EVENTS_EXCHANGE, _key(e)) for e in events) + tuple(
            Binding(COMMANDS_EXCHANGE, _key(c)) for c in commands
        )

        def register(handler: Handler[D]) -> Handler[D]:
            self.items.append(Subscription(queue, bindings, handler))
            return handler

        return register


def make_delivery(body: bytes, headers: Mapping[str, Any], queue: str, deps: D) -> Delivery[D]:
    """Raises ``pydantic.ValidationError`` for a body that is not an envelope (poison)."""
    return Delivery(
        envelope=Envelope.from_bytes(body),
        consumer=queue,
        attempt=h.int_header(dict(headers), h.RETRY_ATTEMPT),
        replay_count=h.int_header(dict(headers), h.REPLAY_COUNT),
        headers=headers,
        deps=deps,
    )
