"""Examples of the messages auth publishes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from auth.contracts import SignedInV1, UserConsentChangedV1, UserRegisteredV1
from messaging.contracts import AnalyticsEvent, Message

EXAMPLES: list[Message] = [
    UserRegisteredV1(user_id=uuid.uuid4(), role="driver", registered_at=datetime.now(UTC)),
    UserConsentChangedV1(
        user_id=uuid.uuid4(),
        analytics=True,
        marketing=False,
        policy_version="2026-11",
        changed_at=datetime.now(UTC),
    ),
]

ANALYTICS_EXAMPLES: list[AnalyticsEvent] = [
    SignedInV1.of(uuid.uuid4(), datetime.now(UTC), role="driver", registered=True),
]
