"""Use case: keep the projection of each user's analytics consent (auth owns the truth)."""

from __future__ import annotations

import logging

from messaging.subscriber import Delivery

from notifications import consent_repository
from notifications.contracts import UserConsentChanged
from notifications.deps import Deps

logger = logging.getLogger(__name__)


async def record_consent_change(
    deps: Deps, delivery: Delivery[Deps], change: UserConsentChanged
) -> None:
    """Idempotent twice over: the inbox absorbs a redelivered message, and the projection only
    moves forward in ``changed_at``, so an older change arriving late is ignored."""
    async with deps.uow() as tx:
        if not await deps.inbox.claim(tx, delivery.consumer, delivery.message_id):
            return
        applied = await consent_repository.apply_change(
            tx, user_id=change.user_id, analytics=change.analytics, changed_at=change.changed_at
        )
    logger.info(
        "consent change %s",
        "applied" if applied else "ignored as older than the one stored",
        extra={"user_id": str(change.user_id), "message_id": str(delivery.message_id)},
    )
