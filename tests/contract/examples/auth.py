"""Examples of the messages auth publishes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from auth.contracts import UserConsentChangedV1, UserRegisteredV1
from messaging.contracts import Message

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
