"""Admin reads and actions over every merchant and session (each action audited)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sessions import audit_repository, merchant_repository, messages
from sessions import session_repository as repo
from sessions.completion_handlers import AdminAction
from sessions.deps import Deps
from sessions.merchant_repository import AdminMerchantRow
from sessions.merchant_rules import mask_phone
from sessions.records import ExclusiveSession
from sessions.session_handlers import explain
from sessions.session_states import OPEN, EndReason, SessionStatus


async def merchants_page(
    deps: Deps, *, limit: int, after: uuid.UUID | None
) -> list[AdminMerchantRow]:
    """One SQL statement per page, whatever its size (the old list ran 1 + N)."""
    async with deps.uow() as tx:
        rows = await merchant_repository.admin_page(tx, limit=limit, after=after)
    page = []
    for row in rows:
        merchant = merchant_repository.to_merchant(row, deps.phones.decrypt, mask_phone)
        page.append(
            AdminMerchantRow(
                merchant=merchant,
                open_sessions=int(row["open_sessions"]),
                last_billing_event=merchant_repository.billing_from_admin_row(row, merchant.id),
            )
        )
    return page


async def sessions_page(
    deps: Deps,
    *,
    statuses: Sequence[SessionStatus],
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[ExclusiveSession]:
    async with deps.uow() as tx:
        return await repo.list_by_status(tx, statuses=statuses, limit=limit, after=after)


async def get_session(deps: Deps, *, session_id: uuid.UUID) -> ExclusiveSession:
    async with deps.uow() as tx:
        session = await repo.get(tx, session_id)
        if session is None:
            raise await explain(tx, session_id, user_id=None)
    return session


async def cancel_session(
    deps: Deps, *, session_id: uuid.UUID, action: AdminAction
) -> ExclusiveSession:
    async with deps.uow() as tx:
        session = await repo.transition(
            tx,
            session_id,
            sources=OPEN,
            set_sql="status = 'cancelled', ended_at = now(), ended_reason = :reason",
            params={"reason": EndReason.ADMIN_CANCELLED.value},
            require_unexpired=False,
        )
        if session is None:
            raise await explain(tx, session_id, user_id=None)
        await deps.outbox.add(tx, messages.cancelled(session))
        await audit_repository.record(
            tx,
            actor_user_id=action.actor,
            action="session.cancel",
            target_kind="exclusive_session",
            target_id=session_id,
            details={"reason": action.reason},
            request_id=action.request_id,
        )
    return session
