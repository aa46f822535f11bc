"""Versioned contracts: names are checked, readers ignore unknown fields, producers only
publish what they declare."""

from __future__ import annotations

from typing import ClassVar

import pytest
from messaging.contracts import (
    Command,
    Contracts,
    Event,
    UnknownContractError,
    read,
)
from messaging.envelope import Envelope


class ThingHappenedV1(Event):
    message_type: ClassVar[str] = "demo.thing.happened.v1"
    thing: str


class DoThingV2(Command):
    message_type: ClassVar[str] = "demo.thing.do.v2"
    thing: str


def test_routing_follows_the_kind() -> None:
    assert ThingHappenedV1.exchange() == "nerava.events" and not ThingHappenedV1.mandatory()
    assert DoThingV2.exchange() == "nerava.commands" and DoThingV2.mandatory()
    assert DoThingV2.version() == 2 and DoThingV2.routing_key() == "demo.thing.do.v2"


def test_bad_type_names_are_refused_at_class_definition() -> None:
    with pytest.raises(TypeError, match="must look like"):

        class Unversioned(Event):
            message_type: ClassVar[str] = "demo.thing.happened"


def test_reader_ignores_unknown_fields_and_refuses_other_types() -> None:
    envelope = Envelope(
        type="demo.thing.happened.v1",
        producer="demo",
        data={"thing": "a", "added_later": 1},
    )
    assert read(Envelope.from_bytes(envelope.to_bytes()), ThingHappenedV1).thing == "a"
    extra = envelope.model_dump(mode="json") | {"new_envelope_field": True}
    assert Envelope.model_validate(extra).message_id == envelope.message_id
    with pytest.raises(UnknownContractError):
        read(envelope, DoThingV2)


def test_a_producer_publishes_only_what_it_declares() -> None:
    contracts = Contracts("demo", [ThingHappenedV1])
    contracts.check(ThingHappenedV1(thing="x"))
    with pytest.raises(UnknownContractError, match="does not declare"):
        contracts.check(DoThingV2(thing="x"))


def test_follow_up_keeps_correlation_and_sets_causation() -> None:
    from messaging.subscriber import make_delivery

    envelope = Envelope(type="demo.thing.happened.v1", producer="demo", correlation_id="req-1")
    delivery = make_delivery(envelope.to_bytes(), {"x-retry-attempt": 2}, "demo.q", None)
    assert delivery.attempt == 2
    assert delivery.follow_up() == {
        "correlation_id": "req-1",
        "causation_id": str(envelope.message_id),
    }
