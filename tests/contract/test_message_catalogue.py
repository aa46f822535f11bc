"""Publishers and consumers agree through the catalogue: every published message is catalogued
under its owner with the fields consumers rely on, has an example, and every consumer's reader
model reads every example of its type, field for field."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from messaging.contracts import AnalyticsEvent, Contracts, Message, Reader, read
from messaging.envelope import Envelope
from notifications.analytics_rules import carries_personal_data
from notifications.contracts import AnalyticsEvent as SinkReader
from pydantic import BaseModel

from tests.contract.catalogue import CATALOGUE, MAY_CARRY_A_PHONE, catalogued_type

SERVICES = ("auth", "sessions", "notifications", "payments")


def _module(name: str) -> ModuleType | None:
    return importlib.import_module(name) if importlib.util.find_spec(name) else None


def _publishers() -> Iterator[tuple[str, type[Message]]]:
    for service in SERVICES:
        contracts = _module(f"{service}.contracts")
        publishes = getattr(contracts, "PUBLISHES", None)
        if isinstance(publishes, Contracts):
            for model in publishes:
                yield service, model


def _readers() -> Iterator[tuple[str, type[Reader]]]:
    for service in SERVICES:
        contracts = _module(f"{service}.contracts")
        for value in vars(contracts or ModuleType("none")).values():
            is_reader = isinstance(value, type) and issubclass(value, Reader)
            if is_reader and getattr(value, "message_type", None):  # nested models have none
                yield service, value


def _examples() -> list[Message]:
    found: list[Message] = []
    for service in SERVICES:
        module = _module(f"tests.contract.examples.{service}")
        found.extend(getattr(module, "EXAMPLES", []))
    return found


PUBLISHERS = list(_publishers())
READERS = list(_readers())
EXAMPLES = _examples()


def _plain(value: Any) -> Any:
    """Nested models compare by content: each service has its own class for them."""
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _wire(message: Message) -> Envelope:
    envelope = Envelope(
        type=message.message_type, producer="contract", data=message.model_dump(mode="json")
    )
    return Envelope.from_bytes(envelope.to_bytes())


@pytest.mark.parametrize(("service", "model"), PUBLISHERS, ids=lambda v: getattr(v, "__name__", v))
def test_each_published_message_is_catalogued_under_its_owner_with_its_fields(
    service: str, model: type[Message]
) -> None:
    entry = CATALOGUE.get(catalogued_type(model.message_type))
    assert entry is not None, f"{model.message_type} is not in the message catalogue"
    assert entry.publisher == service, f"{model.message_type} belongs to {entry.publisher}"
    missing = entry.fields - set(model.model_fields)
    assert not missing, f"{model.__name__} lacks catalogued fields {sorted(missing)}"
    if catalogued_type(model.message_type) not in MAY_CARRY_A_PHONE:
        assert not [f for f in model.model_fields if "phone" in f or f == "to"]


@pytest.mark.parametrize(("service", "model"), PUBLISHERS, ids=lambda v: getattr(v, "__name__", v))
def test_each_published_message_has_an_example_that_survives_the_wire(
    service: str, model: type[Message]
) -> None:
    examples = [e for e in EXAMPLES if type(e) is model]
    assert examples, f"tests/contract/examples/{service}.py has no {model.__name__}"
    for example in examples:
        assert read(_wire(example), model) == example


def test_each_reader_reads_every_example_of_its_type_field_for_field() -> None:
    for service, reader in READERS:
        publishers = [m for _, m in PUBLISHERS if m.message_type == reader.message_type]
        assert publishers, f"{service} reads {reader.message_type}, which nobody publishes"
        examples = [e for e in EXAMPLES if e.message_type == reader.message_type]
        assert examples, f"no example of {reader.message_type}"
        for example in examples:
            seen = read(_wire(example), reader)
            for name in reader.model_fields:
                published = type(example).model_fields
                assert name in published, f"{reader.__name__}.{name} is not published"
                assert _plain(getattr(seen, name)) == _plain(getattr(example, name)), (
                    f"{reader.__name__}.{name}"
                )


def test_the_catalogue_is_not_empty_of_publishers() -> None:
    assert {service for service, _ in PUBLISHERS} >= {"auth"}


def _analytics_publishers() -> Iterator[tuple[str, type[Message]]]:
    for service in SERVICES:
        analytics = getattr(_module(f"{service}.contracts"), "ANALYTICS", None)
        if isinstance(analytics, Contracts):
            for model in analytics:
                yield service, model


ANALYTICS = list(_analytics_publishers())


def test_auth_and_sessions_emit_analytics() -> None:
    assert {service for service, _ in ANALYTICS} >= {"auth", "sessions"}


@pytest.mark.parametrize(("service", "model"), ANALYTICS, ids=lambda v: getattr(v, "__name__", v))
def test_each_analytics_event_is_read_by_the_sink_field_for_field(
    service: str, model: type[Message]
) -> None:
    """Every analytics class is an ``analytics.<name>.vN`` event of the catalogue's shape, with
    an example the notifications sink's reader reads as published, and no personal data."""
    assert issubclass(model, AnalyticsEvent) and model.message_type.startswith("analytics.")
    assert CATALOGUE["analytics.<name>"].fields <= set(model.model_fields)
    module = _module(f"tests.contract.examples.{service}")
    examples = [e for e in getattr(module, "ANALYTICS_EXAMPLES", []) if type(e) is model]
    assert examples, f"tests/contract/examples/{service}.py has no {model.__name__}"
    for example in examples:
        wire = _wire(example)
        seen = SinkReader.model_validate(wire.data)
        assert seen.model_dump() == example.model_dump()
        assert seen.name == model.message_type.split(".")[1]
        assert not carries_personal_data(seen.properties)
