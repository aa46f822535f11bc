"""Session rewards: credit the driver exactly once per completed session (and record the
session's billing charge in the same transaction, :mod:`payments.billing_handlers`).

Exactly once = the inbox (one effect per message id, in the same transaction) + the journal's
business reference ``session:<id>`` (one credit per session, whatever the message ids). While
earning is switched off (or the switches cannot be read) the reward is parked: stored, visible
to ops, neither lost nor applied; :func:`apply_parked_rewards` applies it once earning reopens.
"""

from __future__ import annotations

import logging
import uuid

from messaging.subscriber import Delivery
from sqlalchemy.ext.asyncio import AsyncSession

from payments import audit, billing_handlers, ledger_repository, parked_rewards_store, projections
from payments.audit import AuditRecord
from payments.contracts import RewardCreditedV1, SessionCompletedV1
from payments.deps import PaymentsDeps
from payments.kill_switches import Operation, blocking_switch
from payments.ledger import reward_journal
from payments.ledger_repository import PostStatus
from payments.parked_rewards_store import ParkedReward

logger = logging.getLogger(__name__)


async def on_session_completed(
    deps: PaymentsDeps, event: SessionCompletedV1, delivery: Delivery[PaymentsDeps]
) -> None:
    # Read before the transaction: a read inside it would need a second connection while this
    # one is held, and rewards filling the pool would wait on each other until it timed out.
    switches = await deps.kill_switches.states()
    async with deps.uow() as tx:
        if not await deps.inbox.claim(tx, delivery.consumer, delivery.message_id):
            return
        await projections.record_driver(tx, event.driver_id)
        await billing_handlers.record_billing(
            deps,
            tx,
            event,
            correlation_id=delivery.envelope.correlation_id,
            causation_id=str(delivery.message_id),
        )
        if event.reward_nova <= 0:
            return
        blocked = blocking_switch(switches, Operation.EARN)
        if blocked is not None:
            parked = await parked_rewards_store.park(
                tx,
                session_id=event.session_id,
                driver_id=event.driver_id,
                merchant_id=event.merchant_id,
                reward_nova=event.reward_nova,
                payload=event.model_dump(mode="json"),
                correlation_id=delivery.envelope.correlation_id,
                message_id=delivery.message_id,
                reason=blocked.value,
            )
            if parked:
                logger.info("reward parked", extra={"switch": blocked.value})
            return
        await credit_reward(
            deps,
            tx,
            event,
            correlation_id=delivery.envelope.correlation_id,
            causation_id=str(delivery.message_id),
        )


async def credit_reward(
    deps: PaymentsDeps,
    tx: AsyncSession,
    event: SessionCompletedV1,
    *,
    correlation_id: str | None,
    causation_id: str | None,
) -> uuid.UUID | None:
    """Posts the reward journal in ``tx``; its id, or the earlier one for a repeated session."""
    journal = reward_journal(
        event.session_id, event.driver_id, event.reward_nova, event.merchant_id
    )
    await deps.hooks.before_post(journal.kind.value)
    result = await ledger_repository.post(tx, journal)
    if result.status is PostStatus.DUPLICATE:
        return result.transaction_id
    assert result.status is PostStatus.POSTED and result.transaction_id is not None
    await deps.outbox.add(
        tx,
        RewardCreditedV1(
            session_id=event.session_id,
            driver_id=event.driver_id,
            nova=event.reward_nova,
            ledger_transaction_id=result.transaction_id,
        ),
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    await audit.append(
        tx,
        AuditRecord(
            actor_type="system",
            actor_id="rewards",
            action="reward.credit",
            resource_type="ledger_transaction",
            resource_id=str(result.transaction_id),
            request_id=correlation_id,
            details={
                "session_id": str(event.session_id),
                "driver_id": str(event.driver_id),
                "merchant_id": str(event.merchant_id),
                "nova": event.reward_nova,
                "wallet_balance_after": result.balances[1],
            },
        ),
    )
    return result.transaction_id


async def apply_parked_rewards(deps: PaymentsDeps, *, batch: int) -> int:
    """Applies up to ``batch`` parked rewards if earning is open; safe in every replica."""
    if blocking_switch(await deps.kill_switches.states(), Operation.EARN) is not None:
        return 0
    async with deps.uow() as tx:
        waiting = await parked_rewards_store.claim_waiting(tx, limit=batch)
        for parked in waiting:
            event = SessionCompletedV1.model_validate(parked.payload)
            transaction_id = await credit_reward(
                deps,
                tx,
                event,
                correlation_id=parked.correlation_id,
                causation_id=str(parked.message_id),
            )
            await parked_rewards_store.mark_applied(tx, parked.session_id, transaction_id)
    if waiting:
        logger.info("parked rewards applied", extra={"count": len(waiting)})
    return len(waiting)


async def list_parked_rewards(
    deps: PaymentsDeps, *, waiting_only: bool, limit: int
) -> tuple[list[ParkedReward], int]:
    async with deps.uow() as tx:
        return await parked_rewards_store.list_parked(tx, waiting_only=waiting_only, limit=limit)
