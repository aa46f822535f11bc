"""Rows of the analytics events the sink keeps, in the caller's transaction."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.analytics_rules import KeptEvent
from notifications.tables import analytics_events


async def store(tx: AsyncSession, event: KeptEvent) -> bool:
    """True when stored; False for a redelivered event already kept."""
    stmt = (
        insert(analytics_events)
        .values(
            message_id=event.message_id,
            name=event.name,
            user_id=event.user_id,
            producer=event.producer,
            properties=dict(event.properties),
            occurred_at=event.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=[analytics_events.c.message_id])
        .returning(analytics_events.c.message_id)
    )
    return (await tx.execute(stmt)).first() is not None
