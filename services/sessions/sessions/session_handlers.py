"""Driver use cases: activate a merchant's deal, report arrival, cancel, read my sessions."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from messaging.envelope import utc_now
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sessions import activation_statement, charger_repository, merchant_repository, messages
from sessions import session_repository as repo
from sessions.contracts import DealActivatedV1
from sessions.deps import Deps
from sessions.errors import (
    ChargerNotFoundError,
    MerchantNotFoundError,
    MerchantNotNearChargerError,
    SessionNotFoundError,
    SessionStateConflictError,
)
from sessions.geo import Point, distance_m
from sessions.merchant_rules import mask_phone
from sessions.messages import SmsPurpose, SmsTemplate
from sessions.offer_codes import new_offer_code, new_reply_code
from sessions.records import ExclusiveSession
from sessions.session_states import OPEN, EndReason, SessionStatus

logger = logging.getLogger(__name__)
CODE_ATTEMPTS = 8
_CODE_INDEXES = ("uq_exclusive_sessions_open_offer_code", "uq_exclusive_sessions_open_reply_code")


@dataclass(frozen=True)
class Activation:
    session: ExclusiveSession
    created: bool


async def activate(
    deps: Deps, *, driver_id: uuid.UUID, merchant_id: uuid.UUID, charger_id: uuid.UUID
) -> Activation:
    """201 with a new session, or 200 with the open one (also when two calls race: the partial
    unique index makes the loser's insert a no-op, and it then reads the winner's row).

    The common case, a new session, is one statement (``activation_statement``); when it
    inserts nothing, the transactional path below finds out why and answers accordingly."""
    session = await _activate_in_one_statement(deps, driver_id, merchant_id, charger_id)
    if session is not None:
        activation = Activation(session, created=True)
    else:
        activation = await _activate_in_transaction(deps, driver_id, merchant_id, charger_id)
    deps.metrics.activations.labels("created" if activation.created else "existing").inc()
    if activation.created:
        created = activation.session
        deps.analytics.emit(
            DealActivatedV1.of(
                driver_id,
                created.created_at,
                session_id=str(created.id),
                merchant_id=str(created.merchant_id),
                charger_id=str(created.charger_id),
            )
        )
    return activation


async def _activate_in_one_statement(
    deps: Deps, driver_id: uuid.UUID, merchant_id: uuid.UUID, charger_id: uuid.UUID
) -> ExclusiveSession | None:
    session_id = uuid.uuid4()
    ttl = deps.rules.ttl_seconds
    event = messages.activating(
        session_id=session_id,
        driver_id=driver_id,
        merchant_id=merchant_id,
        charger_id=charger_id,
        expires_at=utc_now() + timedelta(seconds=ttl),  # replaced by the row's, in SQL
    )
    [outbox_row], _ = deps.outbox.rows([event])
    return await activation_statement.insert_open(
        deps.uow,
        session_id=session_id,
        user_id=driver_id,
        merchant_id=merchant_id,
        charger_id=charger_id,
        offer_code=new_offer_code(),
        reply_code=new_reply_code(),
        ttl_seconds=ttl,
        walking_m=deps.rules.walking_distance_m,
        outbox_row=outbox_row,
    )


async def _activate_in_transaction(
    deps: Deps, driver_id: uuid.UUID, merchant_id: uuid.UUID, charger_id: uuid.UUID
) -> Activation:
    for _ in range(CODE_ATTEMPTS):
        try:
            async with deps.uow() as tx:
                return await _activate_once(tx, deps, driver_id, merchant_id, charger_id)
        except IntegrityError as exc:
            if not any(name in str(exc.orig) for name in _CODE_INDEXES):
                raise
            continue  # an offer or reply code collided with another open session: new codes
    raise RuntimeError("could not allocate unique session codes")


async def _activate_once(
    tx: AsyncSession,
    deps: Deps,
    driver_id: uuid.UUID,
    merchant_id: uuid.UUID,
    charger_id: uuid.UUID,
) -> Activation:
    for _ in range(2):
        session = await repo.insert_open(
            tx,
            user_id=driver_id,
            merchant_id=merchant_id,
            charger_id=charger_id,
            offer_code=new_offer_code(),
            reply_code=new_reply_code(),
            ttl_seconds=deps.rules.ttl_seconds,
            walking_m=deps.rules.walking_distance_m,
        )
        if session is not None:
            await deps.outbox.add(tx, messages.activated(session))
            return Activation(session, created=True)
        existing = await repo.open_for_pair(tx, driver_id, merchant_id)
        if existing is None:
            await _refuse_unless_valid(tx, deps, merchant_id, charger_id)
            continue  # valid, so the open one ended between the two statements: insert again
        lapsed = await repo.transition(
            tx,
            existing.id,
            sources=OPEN,
            set_sql="status = 'expired', ended_at = now(), ended_reason = :reason",
            params={"reason": EndReason.TIMEOUT.value},
            require_unexpired=False,
            extra_where="expires_at <= now()",
        )
        if lapsed is None:
            return Activation(existing, created=False)
        await deps.outbox.add(tx, messages.expired(lapsed))  # past expires_at, not yet swept
    raise SessionStateConflictError("The open session changed meanwhile; try again.")


async def _refuse_unless_valid(
    tx: AsyncSession, deps: Deps, merchant_id: uuid.UUID, charger_id: uuid.UUID
) -> None:
    """Why the insert matched nothing: unknown charger, no such active merchant, too far."""
    snapshot = await merchant_repository.activation_snapshot(tx, merchant_id, charger_id)
    if snapshot is None:
        if await charger_repository.get(tx, charger_id) is None:
            raise ChargerNotFoundError("No charger with this id.")
        raise MerchantNotFoundError("No active merchant with this id.")
    walk = distance_m(
        Point(snapshot["m_lat"], snapshot["m_lng"]), Point(snapshot["c_lat"], snapshot["c_lng"])
    )
    if walk > deps.rules.walking_distance_m:
        raise MerchantNotNearChargerError(
            "This merchant is not within walking distance of the charger.",
            distance_m=round(walk),
            walking_distance_m=deps.rules.walking_distance_m,
        )


async def report_arrival(
    deps: Deps, *, driver_id: uuid.UUID, session_id: uuid.UUID
) -> ExclusiveSession:
    """active -> arrived, with the arrival event and the merchant's SMS command in the outbox."""
    async with deps.uow() as tx:
        session = await repo.transition(
            tx,
            session_id,
            sources=(SessionStatus.ACTIVE,),
            set_sql="status = 'arrived', arrived_at = now()",
            user_id=driver_id,
        )
        if session is None:
            raise await explain(tx, session_id, user_id=driver_id)
        target = await merchant_repository.sms_target(tx, session.merchant_id)
        phone = deps.phones.decrypt(target["phone_key_id"], target["phone_ciphertext"])
        await deps.outbox.add_many(
            tx,
            [
                messages.arrival_reported(session),
                messages.merchant_sms(
                    session,
                    purpose=SmsPurpose.ARRIVAL,
                    template=SmsTemplate.ARRIVAL,
                    to=phone,
                    merchant_name=target["name"],
                    offer_title=target["offer_title"],
                ),
            ],
        )
    logger.info(
        "arrival reported",
        extra={"session_id": str(session.id), "merchant_phone": mask_phone(phone)},
    )
    return session


async def cancel(deps: Deps, *, driver_id: uuid.UUID, session_id: uuid.UUID) -> ExclusiveSession:
    async with deps.uow() as tx:
        session = await repo.transition(
            tx,
            session_id,
            sources=OPEN,
            set_sql="status = 'cancelled', ended_at = now(), ended_reason = :reason",
            params={"reason": EndReason.DRIVER_CANCELLED.value},
            user_id=driver_id,
        )
        if session is None:
            raise await explain(tx, session_id, user_id=driver_id)
        await deps.outbox.add(tx, messages.cancelled(session))
    return session


async def get_mine(deps: Deps, *, driver_id: uuid.UUID, session_id: uuid.UUID) -> ExclusiveSession:
    async with deps.uow() as tx:
        session = await repo.get(tx, session_id, user_id=driver_id)
    if session is None:
        raise SessionNotFoundError("No such exclusive session.")
    return session


async def list_mine(
    deps: Deps,
    *,
    driver_id: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[ExclusiveSession]:
    async with deps.uow() as tx:
        return await repo.list_for_user(tx, driver_id, limit=limit, after=after)


async def explain(
    tx: AsyncSession, session_id: uuid.UUID, *, user_id: uuid.UUID | None
) -> Exception:
    """Why a guarded transition matched no row: not the caller's (404) or in another state."""
    current = await repo.get(tx, session_id, user_id=user_id)
    if current is None:
        return SessionNotFoundError("No such exclusive session.")
    now = await repo.db_now(tx)
    state = current.visible_status(now)
    return SessionStateConflictError(
        f"The session is {state.value}; this action is not possible now.", current=state.value
    )
