"""What a use case may touch, typed by Protocols; ``bootstrap.build_deps`` builds the real ones.

Handlers import this module, never ``bootstrap``; tests pass fakes or wrappers to
``build_deps(..., **overrides)`` (e.g. an outbox that fails, to prove a rollback).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from common.direct_sql import DirectStatement
from common.uow import UnitOfWorkFactory
from messaging.contracts import AnalyticsEmitter, Message
from messaging.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from sessions.merchant_rules import MerchantLimits
from sessions.metrics import SessionMetrics
from sessions.phone_crypto import EncryptedPhone


class SessionsUnitOfWork(UnitOfWorkFactory, Protocol):
    async def direct(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """One autocommit statement on the direct pool (an activation's common case)."""


class MessageOutbox(Protocol):
    async def add(
        self,
        session: AsyncSession,
        message: Message,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        message_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope: ...

    async def add_many(
        self,
        session: AsyncSession,
        messages: list[Message],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        message_ids: list[uuid.UUID] | None = None,
        occurred_at: datetime | None = None,
    ) -> list[Envelope]: ...

    def rows(
        self,
        messages: list[Message],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        message_ids: list[uuid.UUID] | None = None,
        occurred_at: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], list[Envelope]]: ...


class MessageInbox(Protocol):
    async def claim(self, session: AsyncSession, consumer: str, message_id: uuid.UUID) -> bool: ...


class Phones(Protocol):
    def encrypt(self, e164: str) -> EncryptedPhone: ...

    def decrypt(self, key_id: str, ciphertext: bytes) -> str: ...


@dataclass(frozen=True)
class SessionRules:
    ttl_seconds: int
    walking_distance_m: float
    stuck_after_seconds: int
    nearby_max_radius_m: float
    nearby_max_limit: int
    import_max_chargers: int
    housekeeping_batch_size: int


@dataclass(frozen=True)
class Deps:
    uow: SessionsUnitOfWork
    outbox: MessageOutbox
    inbox: MessageInbox
    phones: Phones
    rules: SessionRules
    merchant_limits: MerchantLimits
    metrics: SessionMetrics
    analytics: AnalyticsEmitter
