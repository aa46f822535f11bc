"""Rows of the analytics events the sink keeps, in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.tables import analytics_events


async def store(
    tx: AsyncSession,
    *,
    message_id: uuid.UUID,
    name: str,
    user_id: uuid.UUID | None,
    producer: str,
    properties: dict[str, Any],
    occurred_at: datetime,
) -> bool:
    """True when stored; False for a redelivered event already kept."""
    stmt = (
        insert(analytics_events)
        .values(
            message_id=message_id,
            name=name,
            user_id=user_id,
            producer=producer,
            properties=properties,
            occurred_at=occurred_at,
        )
        .on_conflict_do_nothing(index_elements=[analytics_events.c.message_id])
        .returning(analytics_events.c.message_id)
    )
    return (await tx.execute(stmt)).first() is not None
