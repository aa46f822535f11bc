"""What the notifications service's handlers may touch, typed by Protocols.

``bootstrap`` builds the real ones; tests pass their own there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
from common.direct_sql import DirectStatement
from common.uow import UnitOfWorkFactory
from messaging.contracts import Message
from messaging.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.analytics_rules import KeptEvent
from notifications.phone_vault import SealedPhone
from notifications.sms_outcomes import OutgoingSms, SentSms


class Inbox(Protocol):
    async def claim(self, session: AsyncSession, consumer: str, message_id: uuid.UUID) -> bool:
        """True the first time ``consumer`` sees ``message_id``, in the caller's transaction."""
        ...


class NotificationsUnitOfWork(UnitOfWorkFactory, Protocol):
    async def direct(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        """One autocommit statement on the direct pool (the send path's common case)."""
        ...


class Outbox(Protocol):
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

    def rows(
        self,
        messages: list[Message],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        message_ids: list[uuid.UUID] | None = None,
        occurred_at: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], list[Envelope]]:
        """Outbox rows for a statement of the caller's own (it must NOTIFY the relay too)."""
        ...


class SmsSender(Protocol):
    async def send(self, sms: OutgoingSms) -> SentSms:
        """Raises one of ``sms_outcomes.SendError``'s subclasses on failure."""
        ...

    async def find(self, *, to: str, mark: str, since: datetime) -> SentSms | None:
        """An earlier message to ``to`` whose body carries ``mark``; ``SmsLookupFailed``."""
        ...

    async def close(self) -> None: ...


class AnalyticsForwarder(Protocol):
    def forward(self, event: KeptEvent) -> None:
        """Hands ``event`` on without waiting or raising (dropped and counted when it cannot)."""
        ...

    async def close(self) -> None:
        """Sends what is buffered, within a bounded time."""
        ...


class Phones(Protocol):
    def seal(self, e164: str) -> SealedPhone: ...

    def open(self, key_id: str, ciphertext: bytes) -> str: ...

    def lookup_hash(self, e164: str) -> bytes: ...


class WebhookGuard(Protocol):
    def verify(
        self,
        *,
        public_url: str | None,
        path: str,
        form: Mapping[str, Sequence[str]],
        signature: str | None,
    ) -> bool:
        """True when Twilio signed ``form`` for ``public_url``, our public URL at ``path``."""
        ...


@dataclass(frozen=True)
class SendPolicy:
    max_failures: int  # the length of the queue's retry schedule: then the DLQ
    attempt_lease: timedelta  # a "sending" attempt older than this was cut off
    public_base_url: str | None  # status callbacks go under it (none: no callbacks)
    reply_window: timedelta  # a reply answers a delivery sent to that phone within this
    # The send queue's schedule: re-send k of an undelivered SMS waits resend_delays[k - 1];
    # none left: the delivery fails (notification.sms_failed.v1).
    resend_delays: tuple[timedelta, ...] = ()


@dataclass(frozen=True)
class Deps:
    uow: NotificationsUnitOfWork
    inbox: Inbox
    outbox: Outbox
    sender: SmsSender
    phones: Phones
    send_policy: SendPolicy
    webhooks: WebhookGuard
    clock: Callable[[], datetime]
    analytics_forwarder: AnalyticsForwarder | None = None  # PostHog, when configured
