"""The subscriber helper: a service declares its work queues, bindings and handlers.

In a service's ``consumers.py`` (decode -> call a handler; no SQL, no commit)::

    subscriptions = Subscriptions()

    @subscriptions.subscribe("notifications.on-events", events=[UserConsentChangedV1])
    async def on_user_consent_changed(delivery: Delivery) -> None:
        event = read(delivery.envelope, UserConsentChangedV1)
        await delivery.state.handlers.record_consent(event, delivery)

The handler gets a :class:`Delivery`: the envelope, the consumer name (the queue: use it with the
inbox), the attempt number and ``state`` (the app's state, where the lifespan put its deps).
Raise to fail: the failure middleware classifies and routes the message. A handler that
publishes in turn passes ``**delivery.follow_up()`` to ``Outbox.add`` (correlation, causation).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from messaging import headers as h
from messaging.contracts import Message
from messaging.envelope import Envelope
from messaging.topology import COMMANDS_EXCHANGE, EVENTS_EXCHANGE, Binding, WorkQueue


@dataclass(frozen=True)
class Delivery:
    envelope: Envelope
    consumer: str
    attempt: int
    replay_count: int
    headers: Mapping[str, Any]
    state: Any = None

    @property
    def message_id(self) -> uuid.UUID:
        return self.envelope.message_id

    def follow_up(self) -> dict[str, str | None]:
        """Keyword arguments for ``Outbox.add`` of a message this one causes: the same
        correlation id (the originating request), causation = this message."""
        return {
            "correlation_id": self.envelope.correlation_id,
            "causation_id": str(self.envelope.message_id),
        }


Handler = Callable[[Delivery], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    queue: str
    bindings: tuple[Binding, ...]
    handler: Handler

    def work_queue(self, delivery_limit: int) -> WorkQueue:
        return WorkQueue(self.queue, self.bindings, delivery_limit=delivery_limit)


def _key(message: str | type[Message]) -> str:
    return message if isinstance(message, str) else message.routing_key()


@dataclass
class Subscriptions:
    items: list[Subscription] = field(default_factory=list)

    def subscribe(
        self,
        queue: str,
        *,
        events: Sequence[str | type[Message]] = (),
        commands: Sequence[str | type[Message]] = (),
    ) -> Callable[[Handler], Handler]:
        """Binds ``queue`` to event types on ``nerava.events`` and command types on
        ``nerava.commands`` (each command type must have exactly one owner queue)."""
        if any(s.queue == queue for s in self.items):
            raise ValueError(f"queue {queue} already has a handler")
        bindings = tuple(Binding(EVENTS_EXCHANGE, _key(e)) for e in events) + tuple(
            Binding(COMMANDS_EXCHANGE, _key(c)) for c in commands
        )

        def register(handler: Handler) -> Handler:
            self.items.append(Subscription(queue, bindings, handler))
            return handler

        return register


def make_delivery(body: bytes, headers: Mapping[str, Any], queue: str, state: Any) -> Delivery:
    """Raises ``pydantic.ValidationError`` for a body that is not an envelope (poison)."""
    return Delivery(
        envelope=Envelope.from_bytes(body),
        consumer=queue,
        attempt=h.int_header(dict(headers), h.RETRY_ATTEMPT),
        replay_count=h.int_header(dict(headers), h.REPLAY_COUNT),
        headers=headers,
        state=state,
    )
