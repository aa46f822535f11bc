"""The messages the auth service publishes (versioned; never carry a phone number)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from messaging.contracts import Contracts, Event


class UserRegisteredV1(Event):
    message_type: ClassVar[str] = "user.registered.v1"
    user_id: UUID
    role: str
    registered_at: datetime


class UserConsentChangedV1(Event):
    message_type: ClassVar[str] = "user.consent_changed.v1"
    user_id: UUID
    analytics: bool
    marketing: bool
    policy_version: str
    changed_at: datetime


PUBLISHES = Contracts("auth", [UserRegisteredV1, UserConsentChangedV1])
