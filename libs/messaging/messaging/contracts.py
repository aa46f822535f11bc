"""How a service declares the messages it publishes: versioned pydantic payloads.

A service's ``contracts.py``::

    class UserRegisteredV1(Event):
        message_type: ClassVar[str] = "user.registered.v1"
        user_id: UUID

    class SendSmsV1(Command):
        message_type: ClassVar[str] = "notifications.sms.send.v1"
        ...

    PUBLISHES = Contracts("auth", [UserRegisteredV1])

A consumer reads a message with a :class:`Reader` of its own (in its ``contracts.py``): only
the fields it relies on, unknown ones ignored, so a publisher adding a field breaks nobody::

    class UserConsentChanged(Reader):
        message_type: ClassVar[str] = "user.consent_changed.v1"
        user_id: UUID
        analytics: bool

``tests/contract`` pairs every publisher's class with every reader of the same type.

Events go to ``nerava.events`` (topic, routing key = type, unroutable is fine); commands go to
``nerava.commands`` (direct, routing key = type, bound to exactly one owner queue, unroutable
is an error). Readers ignore unknown fields, so adding an optional field is not breaking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, Self, TypeVar, cast
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from messaging.envelope import Envelope
from messaging.topology import COMMANDS_EXCHANGE, EVENTS_EXCHANGE

TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[1-9][0-9]*$")


class MessageKind(StrEnum):
    EVENT = "event"
    COMMAND = "command"


class Message(BaseModel):
    """A message payload (the envelope's ``data``). Subclass :class:`Event` or :class:`Command`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_type: ClassVar[str]
    kind: ClassVar[MessageKind]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.__dict__.get("message_type")
        if name is None:
            return  # an abstract intermediate class
        if not TYPE_NAME.match(name):
            raise TypeError(
                f"{cls.__name__}.message_type {name!r} must look like 'session.completed.v1'"
            )

    @classmethod
    def version(cls) -> int:
        return int(cls.message_type.rsplit(".v", 1)[1])

    @classmethod
    def exchange(cls) -> str:
        return EVENTS_EXCHANGE if cls.kind is MessageKind.EVENT else COMMANDS_EXCHANGE

    @classmethod
    def routing_key(cls) -> str:
        return cls.message_type

    @classmethod
    def mandatory(cls) -> bool:
        """Commands must reach their owner queue; an event without subscribers is fine."""
        return cls.kind is MessageKind.COMMAND


class Event(Message):
    kind: ClassVar[MessageKind] = MessageKind.EVENT


class Command(Message):
    kind: ClassVar[MessageKind] = MessageKind.COMMAND


ANALYTICS_TYPE = re.compile(r"^analytics\.([a-z][a-z0-9_]*)\.v[1-9][0-9]*$")


class AnalyticsEvent(Event):
    """An ``analytics.<name>.vN`` event, sent through the lossy publisher
    (``messaging.analytics``), never the outbox: what a product analyst counts, not a state
    change. ``name`` is the ``<name>`` of the type; ``properties`` carry identifiers and
    categories, never personal data (the analytics sink drops what looks like it)::

        class SignedInV1(AnalyticsEvent):
            message_type: ClassVar[str] = "analytics.user_signed_in.v1"

        SignedInV1.of(user_id, now, role="driver")
    """

    user_id: UUID | None = None
    name: str
    properties: dict[str, str | int | bool] = Field(default_factory=dict)
    occurred_at: AwareDatetime

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.__dict__.get("message_type")
        if name is not None and not ANALYTICS_TYPE.match(name):
            raise TypeError(f"{cls.__name__}.message_type {name!r} must be 'analytics.<name>.vN'")

    @classmethod
    def of(
        cls, user_id: UUID | None, occurred_at: datetime, **properties: str | int | bool
    ) -> Self:
        match = ANALYTICS_TYPE.match(cls.message_type)
        assert match is not None  # checked when the class was defined
        return cls(user_id=user_id, name=match[1], properties=properties, occurred_at=occurred_at)


class AnalyticsEmitter(Protocol):
    """What a handler emits analytics events to (``messaging.analytics.AnalyticsPublisher``):
    never blocks, never raises; an event it cannot keep is dropped and counted (False)."""

    def emit(self, event: AnalyticsEvent) -> bool: ...


class Reader(BaseModel):
    """A consumer's view of a message it reads: the fields it relies on (extra ones ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_type: ClassVar[str]


Payload = Message | Reader
M = TypeVar("M", bound=Payload)


class UnknownContractError(ValueError):
    pass


class Contracts:
    """The set of message types one service publishes (its public, versioned interface)."""

    def __init__(self, producer: str, messages: Iterable[type[Message]]) -> None:
        self.producer = producer
        self.by_type: dict[str, type[Message]] = {}
        for message in messages:
            if message.message_type in self.by_type:
                raise ValueError(f"{message.message_type} declared twice by {producer}")
            self.by_type[message.message_type] = message

    def check(self, message: Message) -> None:
        if type(message) is not self.by_type.get(message.message_type):
            raise UnknownContractError(
                f"{self.producer} does not declare {message.message_type} in its contracts"
            )

    def __iter__(self) -> Any:
        return iter(self.by_type.values())


def read(envelope: Envelope, model: type[M]) -> M:
    """The typed payload of an envelope; unknown fields are ignored, a mismatch is poison."""
    if envelope.type != model.message_type:
        raise UnknownContractError(f"expected {model.message_type}, got {envelope.type}")
    return cast(M, model.model_validate(envelope.data))
