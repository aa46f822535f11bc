"""Who may act on a merchant: its owner (``merchants.owner_user_id = sub``) or an admin.

Checked in the query, so another owner's merchant and a missing one look the same (404).
"""

from __future__ import annotations

import uuid

from common.jwt_verification import VerifiedToken
from sqlalchemy.ext.asyncio import AsyncSession

from sessions import merchant_repository
from sessions.errors import MerchantNotFoundError

ADMIN = "admin"


def owner_filter(user: VerifiedToken) -> uuid.UUID | None:
    """The owner id a query must match, or None for an admin (every merchant)."""
    return None if user.role == ADMIN else user.user_id


async def require_merchant(tx: AsyncSession, user: VerifiedToken, merchant_id: uuid.UUID) -> None:
    owner = owner_filter(user)
    if owner is None:
        found = await merchant_repository.exists(tx, merchant_id)
    else:
        found = await merchant_repository.owns(tx, merchant_id, owner)
    if not found:
        raise MerchantNotFoundError("No such merchant.")
