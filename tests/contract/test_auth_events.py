"""The events auth publishes: their wire shape is a contract (consumers ignore extra fields).

Changing a field's name or type here is a breaking change: publish a ``.v2`` beside ``.v1``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from auth.contracts import PUBLISHES, UserConsentChangedV1, UserRegisteredV1
from messaging.contracts import read
from messaging.envelope import Envelope


def _envelope(message: UserRegisteredV1 | UserConsentChangedV1) -> Envelope:
    return Envelope(
        type=message.message_type, producer="auth", data=message.model_dump(mode="json")
    )


def test_auth_publishes_exactly_these_events() -> None:
    assert sorted(PUBLISHES.by_type) == ["user.consent_changed.v1", "user.registered.v1"]


def test_user_registered_v1_wire_shape() -> None:
    user = uuid.uuid4()
    message = UserRegisteredV1(user_id=user, role="driver", registered_at=datetime.now(UTC))
    data = _envelope(message).data
    assert set(data) == {"user_id", "role", "registered_at"}
    assert data["user_id"] == str(user)
    back = read(Envelope.from_bytes(_envelope(message).to_bytes()), UserRegisteredV1)
    assert back == message


def test_user_consent_changed_v1_wire_shape_and_tolerance_of_new_fields() -> None:
    message = UserConsentChangedV1(
        user_id=uuid.uuid4(),
        analytics=True,
        marketing=False,
        policy_version="2026-11",
        changed_at=datetime.now(UTC),
    )
    data = _envelope(message).data
    assert set(data) == {"user_id", "analytics", "marketing", "policy_version", "changed_at"}
    newer = Envelope(
        type="user.consent_changed.v1", producer="auth", data={**data, "channel": "app"}
    )
    assert read(newer, UserConsentChangedV1) == message


def test_no_event_carries_a_phone_number() -> None:
    for model in PUBLISHES:
        assert not any("phone" in name for name in model.model_fields)
