"""Publishing state changes: a handler adds messages to the outbox in its own transaction.

The relay (``messaging.relay``) publishes them after commit; a request never awaits
RabbitMQ. In a service handler (the only place a transaction commits)::

    from messaging.outbox import Outbox

    outbox = Outbox(tables.messaging.outbox, contracts.PUBLISHES)   # built once, in bootstrap

    async with sessions.begin() as session:
        user = await repository.create_user(session, phone)
        await outbox.add(session, UserRegisteredV1(user_id=user.id))
    # committed together: the user row and its event, or neither

The envelope gets a fresh ``message_id``, ``correlation_id`` = the current request id,
``producer`` = the service name, and the W3C trace context of the current span in its headers.
The insert also issues ``NOTIFY`` (delivered at commit) so a relay wakes up at once: in the
same statement (``RETURNING pg_notify(...)``), one round trip for rows and wake-up.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from common.request_context import current_request_id
from common.telemetry import inject_trace_headers
from sqlalchemy import Table, func, insert, literal
from sqlalchemy.ext.asyncio import AsyncSession

from messaging import headers as h
from messaging.contracts import Contracts, Message
from messaging.envelope import Envelope, utc_now


def notify_channel(table: Table) -> str:
    """The LISTEN/NOTIFY channel of one service's outbox."""
    return f"nerava_outbox_{table.schema or 'public'}"


class Outbox:
    def __init__(self, table: Table, contracts: Contracts) -> None:
        self.table = table
        self.contracts = contracts
        # Postgres folds the identical NOTIFYs of one transaction into one, delivered at commit
        self._insert = insert(table).returning(
            func.pg_notify(literal(notify_channel(table)), literal(""))
        )

    async def add(
        self,
        session: AsyncSession,
        message: Message,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        message_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Stages ``message`` in the caller's transaction; returns the envelope it will carry."""
        return (
            await self.add_many(
                session,
                [message],
                correlation_id=correlation_id,
                causation_id=causation_id,
                message_ids=[message_id] if message_id else None,
                occurred_at=occurred_at,
            )
        )[0]

    async def add_many(
        self,
        session: AsyncSession,
        messages: list[Message],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        message_ids: list[uuid.UUID] | None = None,
        occurred_at: datetime | None = None,
    ) -> list[Envelope]:
        if not messages:
            return []
        rows, envelopes = self.rows(
            messages,
            correlation_id=correlation_id,
            causation_id=causation_id,
            message_ids=message_ids,
            occurred_at=occurred_at,
        )
        await session.execute(self._insert, rows)
        return envelopes

    def rows(
        self,
        messages: list[Message],
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        message_ids: list[uuid.UUID] | None = None,
        occurred_at: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], list[Envelope]]:
        """The outbox rows of ``messages`` and their envelopes, for a caller that inserts them
        in a statement of its own (a hot path's single statement); it must also ``NOTIFY``
        :func:`notify_channel` in that transaction, as :meth:`add_many` does."""
        correlation = correlation_id or current_request_id()
        when = occurred_at or utc_now()
        base_headers = inject_trace_headers({h.ORIGIN_SERVICE: self.contracts.producer})
        rows: list[dict[str, Any]] = []
        envelopes: list[Envelope] = []
        for index, message in enumerate(messages):
            self.contracts.check(message)
            envelope = Envelope(
                message_id=message_ids[index] if message_ids else uuid.uuid4(),
                type=message.message_type,
                occurred_at=when,
                producer=self.contracts.producer,
                correlation_id=correlation,
                causation_id=causation_id,
                data=message.model_dump(mode="json"),
            )
            envelopes.append(envelope)
            rows.append(
                {
                    "message_id": envelope.message_id,
                    "message_type": envelope.type,
                    "exchange": message.exchange(),
                    "routing_key": message.routing_key(),
                    "mandatory": message.mandatory(),
                    "correlation_id": correlation,
                    "headers": {**base_headers, h.SCHEMA_VERSION: message.version()},
                    "body": envelope.to_bytes(),
                }
            )
        return rows, envelopes
