"""Every message notifications consumes, read by its reader from what the publisher's own class
puts on the wire: a renamed, retyped or removed field fails here before it fails in production.

Add a row to ``PAIRS`` for each new consumer (publisher class, notifications' reader, an example).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from auth.contracts import PUBLISHES as AUTH_PUBLISHES
from auth.contracts import UserConsentChangedV1 as AuthConsentChanged
from messaging.contracts import Message, read
from messaging.envelope import Envelope
from notifications import contracts

PAIRS: list[tuple[type[Message], type[Message], Message]] = [
    (
        AuthConsentChanged,
        contracts.UserConsentChangedV1,
        AuthConsentChanged(
            user_id=uuid.uuid4(),
            analytics=True,
            marketing=False,
            policy_version="2026-11",
            changed_at=datetime.now(UTC),
        ),
    ),
]


def _wire(message: Message, producer: str) -> Envelope:
    sent = Envelope(
        type=message.message_type, producer=producer, data=message.model_dump(mode="json")
    )
    return Envelope.from_bytes(sent.to_bytes())


@pytest.mark.parametrize(("publisher", "reader", "example"), PAIRS)
def test_reader_reads_what_the_publisher_sends(
    publisher: type[Message], reader: type[Message], example: Message
) -> None:
    assert reader.message_type == publisher.message_type
    assert set(reader.model_fields) <= set(publisher.model_fields)
    got = read(_wire(example, "auth"), reader)
    sent: dict[str, Any] = example.model_dump()
    assert got.model_dump() == {name: sent[name] for name in reader.model_fields}


def test_the_consent_publisher_is_the_one_auth_declares() -> None:
    assert AUTH_PUBLISHES.by_type["user.consent_changed.v1"] is AuthConsentChanged
