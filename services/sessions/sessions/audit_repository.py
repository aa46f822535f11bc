"""The audit of admin actions: one row per action, written in the action's own transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def record(
    tx: AsyncSession,
    *,
    actor_user_id: uuid.UUID,
    action: str,
    target_kind: str,
    target_id: uuid.UUID,
    details: Mapping[str, Any],
    request_id: str | None,
) -> None:
    await tx.execute(
        text(
            "INSERT INTO admin_audit (id, actor_user_id, action, target_kind, target_id, "
            "details, request_id) VALUES (:id, :actor, :action, :kind, :target, "
            "CAST(:details AS jsonb), :request_id)"
        ),
        {
            "id": uuid.uuid4(),
            "actor": actor_user_id,
            "action": action,
            "kind": target_kind,
            "target": target_id,
            "details": json.dumps(dict(details), default=str),
            "request_id": request_id,
        },
    )
