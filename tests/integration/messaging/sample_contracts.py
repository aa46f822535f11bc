"""Message types used by the messaging tests (a fictional ``demo`` service)."""

from __future__ import annotations

from typing import ClassVar

from messaging.contracts import Command, Contracts, Event


class ThingHappenedV1(Event):
    message_type: ClassVar[str] = "demo.thing.happened.v1"
    thing_id: str
    size: int = 0


class DoThingV1(Command):
    message_type: ClassVar[str] = "demo.thing.do.v1"
    thing_id: str


DEMO = Contracts("demo", [ThingHappenedV1, DoThingV1])
