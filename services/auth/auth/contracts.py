"""The messages the auth service publishes (versioned; never carry a phone number): events
through the outbox (``PUBLISHES``) and analytics events through the lossy publisher
(``ANALYTICS``)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from messaging.contracts import AnalyticsEvent, Contracts, Event


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


class SignedInV1(AnalyticsEvent):
    """A sign-in by OTP (properties: ``role``, ``registered`` on the first one)."""

    message_type: ClassVar[str] = "analytics.user_signed_in.v1"


ANALYTICS = Contracts("auth", [SignedInV1])
