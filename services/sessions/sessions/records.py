"""What the use cases work with: plain records of chargers, merchants, sessions, billing events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sessions.session_states import NotifyStatus, SessionStatus


@dataclass(frozen=True)
class Charger:
    id: uuid.UUID
    external_id: str
    name: str
    network: str
    lat: float
    lng: float
    connectors: list[dict[str, Any]]


@dataclass(frozen=True)
class NearbyCharger:
    charger: Charger
    distance_m: float


@dataclass(frozen=True)
class Merchant:
    id: uuid.UUID
    owner_user_id: uuid.UUID
    name: str
    lat: float
    lng: float
    phone_masked: str | None
    offer_title: str
    billing_amount_minor: int
    currency: str
    reward_nova: int
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ExclusiveSession:
    id: uuid.UUID
    user_id: uuid.UUID
    merchant_id: uuid.UUID
    charger_id: uuid.UUID
    status: SessionStatus
    offer_code: str
    reply_code: str
    billing_amount_minor: int
    currency: str
    reward_nova: int
    notify_status: NotifyStatus | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    arrived_at: datetime | None
    merchant_notified_at: datetime | None
    renotified_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None
    confirmed_via: str | None

    def visible_status(self, now: datetime) -> SessionStatus:
        """Lazy expiry: an open session past ``expires_at`` reads as expired before the sweep."""
        if self.ended_at is None and self.expires_at <= now:
            return SessionStatus.EXPIRED
        return self.status


@dataclass(frozen=True)
class BillingEvent:
    id: uuid.UUID
    session_id: uuid.UUID
    merchant_id: uuid.UUID
    amount_minor: int
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class Completed:
    session: ExclusiveSession
    billing_event: BillingEvent
