"""Completing a session: by the merchant's redemption, the merchant's SMS reply, or an admin.

Each path is one transaction holding the guarded ``open -> completed`` update, the billing event
(amount and currency as copied from the merchant at activation) and ``session.completed.v1`` in
the outbox: a failure anywhere leaves none of them. ``billing_events.session_id`` is unique as
a backstop; the guard already lets exactly one caller win.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.jwt_verification import VerifiedToken
from sqlalchemy.ext.asyncio import AsyncSession

from sessions import audit_repository, merchant_repository, messages
from sessions import session_repository as repo
from sessions.access import require_merchant
from sessions.deps import Deps
from sessions.errors import (
    OfferCodeAlreadyRedeemedError,
    OfferCodeNotFoundError,
    SessionStateConflictError,
)
from sessions.messages import SmsPurpose, SmsTemplate
from sessions.offer_codes import normalise_offer_code
from sessions.records import Completed, ExclusiveSession
from sessions.session_handlers import explain
from sessions.session_states import ConfirmedVia, SessionStatus

logger = logging.getLogger(__name__)


async def finish(
    tx: AsyncSession,
    deps: Deps,
    session: ExclusiveSession,
    *,
    follow_up: Mapping[str, Any] | None = None,
) -> Completed:
    """The writes that go with a session that just became ``completed``, in its transaction."""
    billing = await repo.insert_billing_event(tx, session)
    outgoing: list[Any] = [messages.completed(session, billing)]
    if session.confirmed_via == ConfirmedVia.SMS:
        target = await merchant_repository.sms_target(tx, session.merchant_id)
        outgoing.append(
            messages.merchant_sms(
                session,
                purpose=SmsPurpose.CONFIRMATION,
                template=SmsTemplate.CONFIRMED,
                to=deps.phones.decrypt(target["phone_key_id"], target["phone_ciphertext"]),
                merchant_name=target["name"],
                offer_title=target["offer_title"],
            )
        )
    await deps.outbox.add_many(tx, outgoing, **dict(follow_up or {}))
    return Completed(session=session, billing_event=billing)


async def redeem(
    deps: Deps, *, user: VerifiedToken, merchant_id: uuid.UUID, code: str
) -> Completed:
    """The merchant's owner (or an admin) redeems an offer code: exactly once."""
    normalised = normalise_offer_code(code)
    async with deps.uow() as tx:
        await require_merchant(tx, user, merchant_id)
        if normalised is None:
            raise OfferCodeNotFoundError("No open session at this merchant has this code.")
        session = await repo.complete_by(
            tx,
            match_sql="merchant_id = :merchant_id AND offer_code = :code",
            params={"merchant_id": merchant_id, "code": normalised},
            confirmed_via=ConfirmedVia.MERCHANT_API.value,
        )
        if session is None:
            raise await _why_not_redeemed(tx, merchant_id, normalised)
        done = await finish(tx, deps, session)
    deps.metrics.completed.labels(ConfirmedVia.MERCHANT_API.value).inc()
    return done


async def _why_not_redeemed(tx: AsyncSession, merchant_id: uuid.UUID, code: str) -> Exception:
    latest = await repo.latest_with_code(tx, merchant_id, code)
    if latest is None:
        return OfferCodeNotFoundError("No open session at this merchant has this code.")
    if latest.status == SessionStatus.COMPLETED:
        return OfferCodeAlreadyRedeemedError(
            "This offer code was already redeemed.", session_id=str(latest.id)
        )
    state = latest.visible_status(await repo.db_now(tx))
    return SessionStateConflictError(
        f"The session of this code is {state.value}.", current=state.value
    )


async def complete_by_sms(
    tx: AsyncSession,
    deps: Deps,
    *,
    session_id: uuid.UUID,
    reply_code: str | None,
    follow_up: Mapping[str, Any],
) -> Completed | None:
    """The merchant replied DONE: completes the referenced open session when the reply code (if
    given) is its own. None: nothing matched (stale, or a wrong code)."""
    match_sql = "id = :id"
    params: dict[str, Any] = {"id": session_id}
    if reply_code is not None:
        match_sql += " AND reply_code = :reply_code"
        params["reply_code"] = reply_code
    session = await repo.complete_by(
        tx, match_sql=match_sql, params=params, confirmed_via=ConfirmedVia.SMS.value
    )
    if session is None:
        return None
    return await finish(tx, deps, session, follow_up=follow_up)


@dataclass(frozen=True)
class AdminAction:
    actor: uuid.UUID
    request_id: str | None
    reason: str | None


async def admin_complete(deps: Deps, *, session_id: uuid.UUID, action: AdminAction) -> Completed:
    async with deps.uow() as tx:
        session = await repo.complete_by(
            tx,
            match_sql="id = :id",
            params={"id": session_id},
            confirmed_via=ConfirmedVia.ADMIN.value,
        )
        if session is None:
            raise await explain(tx, session_id, user_id=None)
        done = await finish(tx, deps, session)
        await audit_repository.record(
            tx,
            actor_user_id=action.actor,
            action="session.complete",
            target_kind="exclusive_session",
            target_id=session_id,
            details={"reason": action.reason, "billing_event_id": str(done.billing_event.id)},
            request_id=action.request_id,
        )
    deps.metrics.completed.labels(ConfirmedVia.ADMIN.value).inc()
    return done
