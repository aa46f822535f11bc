"""The messages notifications publishes (versioned) and its readers of the messages it consumes.

A reader names only the fields this service relies on; anything else the publisher sends is
ignored, so a publisher may add fields freely. ``tests/contract`` pairs each reader with the
publisher's own class, so a rename or a type change on either side fails there first.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from messaging.contracts import Event
from pydantic import AwareDatetime

# ---- readers of consumed messages


class UserConsentChangedV1(Event):
    """Reader of auth's ``user.consent_changed.v1``: the projection keeps analytics consent."""

    message_type: ClassVar[str] = "user.consent_changed.v1"
    user_id: UUID
    analytics: bool
    changed_at: AwareDatetime
