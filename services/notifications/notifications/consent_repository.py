"""Rows of the consent projection, inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.analytics_rules import Consent
from notifications.tables import user_consent


async def apply_change(
    tx: AsyncSession, *, user_id: uuid.UUID, analytics: bool, changed_at: datetime
) -> bool:
    """Stores the change unless a newer one is already there; True when it was applied.

    Changes arrive in any order (retries, replays, two auth replicas): the row only ever moves
    forward in ``changed_at``, so a late, older change never overwrites a newer one.
    """
    new = insert(user_consent).values(user_id=user_id, analytics=analytics, changed_at=changed_at)
    stmt = new.on_conflict_do_update(
        index_elements=[user_consent.c.user_id],
        set_={
            "analytics": new.excluded.analytics,
            "changed_at": new.excluded.changed_at,
            "recorded_at": func.now(),
        },
        where=user_consent.c.changed_at < new.excluded.changed_at,
    ).returning(user_consent.c.user_id)
    return (await tx.execute(stmt)).first() is not None


async def consent_of(tx: AsyncSession, user_id: uuid.UUID) -> Consent | None:
    row = (
        await tx.execute(
            select(user_consent.c.analytics, user_consent.c.changed_at).where(
                user_consent.c.user_id == user_id
            )
        )
    ).first()
    return None if row is None else Consent(row.analytics, row.changed_at)
