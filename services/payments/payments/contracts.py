"""Messages payments publishes (versioned) and reader models of those it consumes (DESIGN §10).

Readers ignore fields they do not know; the fields listed are what the publisher guarantees.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from messaging.contracts import Contracts, Event, Reader
from pydantic import Field


class RewardCreditedV1(Event):
    message_type: ClassVar[str] = "reward.credited.v1"
    session_id: uuid.UUID
    driver_id: uuid.UUID
    nova: int
    ledger_transaction_id: uuid.UUID


PUBLISHES = Contracts("payments", [RewardCreditedV1])


# Readers (published by sessions).


class SessionCompletedV1(Reader):
    message_type: ClassVar[str] = "session.completed.v1"
    session_id: uuid.UUID
    driver_id: uuid.UUID
    merchant_id: uuid.UUID
    billing_event_id: uuid.UUID
    amount_minor: int = Field(ge=0)
    currency: str
    reward_nova: int = Field(ge=0)
    confirmed_via: Literal["sms", "merchant_api", "admin"] | str
    completed_at: datetime


class _MerchantFacts(Reader):
    merchant_id: uuid.UUID
    owner_user_id: uuid.UUID
    name: str
    billing_amount_minor: int = Field(ge=0)
    currency: str
    reward_nova: int = Field(ge=0)
    active: bool


class MerchantCreatedV1(_MerchantFacts):
    message_type: ClassVar[str] = "merchant.created.v1"


class MerchantUpdatedV1(_MerchantFacts):
    message_type: ClassVar[str] = "merchant.updated.v1"


class UserRegisteredV1(Reader):
    """Published by auth."""

    message_type: ClassVar[str] = "user.registered.v1"
    user_id: uuid.UUID
    role: str
    registered_at: datetime
