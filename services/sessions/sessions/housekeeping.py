"""Housekeeping rounds, safe in every replica: each claims its rows ``FOR UPDATE SKIP LOCKED``
(a row another replica holds is skipped, never done twice) and re-checks its predicate on the
locked row, so a completion that committed first wins and the sweep leaves that row alone.

- expire: open sessions past ``expires_at`` -> ``expired`` (reason ``timeout``) +
  ``session.expired.v1``;
- remind: sessions ``arrived``/``merchant_notified`` for longer than ``stuck_after`` with no
  reminder yet -> one re-notification SMS (delivery key ``<id>:renotify``);
- give up: reminded longer than ``stuck_after`` ago -> ``expired`` (reason
  ``merchant_no_response``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from sessions import merchant_repository, messages
from sessions import session_repository as repo
from sessions.deps import Deps
from sessions.messages import SmsPurpose, SmsTemplate
from sessions.session_states import OPEN_SQL, EndReason

STUCK = "status IN ('arrived', 'merchant_notified')"
_BACKLOG = text(f"SELECT count(*) FROM exclusive_sessions WHERE {OPEN_SQL} AND expires_at <= now()")


@dataclass(frozen=True)
class RoundResult:
    expired: int
    reminded: int
    gave_up: int


async def expire_due(deps: Deps) -> int:
    async with deps.uow() as tx:
        rows = await repo.claim_batch(
            tx,
            candidates_sql=f"{OPEN_SQL} AND expires_at <= now()",
            set_sql="status = 'expired', ended_at = now(), ended_reason = :reason",
            params={"reason": EndReason.TIMEOUT.value},
            limit=deps.rules.housekeeping_batch_size,
        )
        await deps.outbox.add_many(tx, [messages.expired(s) for s in rows])
        backlog = int((await tx.execute(_BACKLOG)).scalar_one())
    deps.metrics.housekeeping_backlog.set(backlog)
    if rows:
        deps.metrics.expired.labels(EndReason.TIMEOUT.value).inc(len(rows))
    return len(rows)


async def remind_stuck(deps: Deps) -> int:
    async with deps.uow() as tx:
        rows = await repo.claim_batch(
            tx,
            candidates_sql=(
                f"{STUCK} AND renotified_at IS NULL AND expires_at > now() "
                "AND arrived_at < now() - make_interval(secs => :stuck)"
            ),
            set_sql="renotified_at = now()",
            params={"stuck": deps.rules.stuck_after_seconds},
            limit=deps.rules.housekeeping_batch_size,
        )
        commands = []
        for session in rows:
            target = await merchant_repository.sms_target(tx, session.merchant_id)
            commands.append(
                messages.merchant_sms(
                    session,
                    purpose=SmsPurpose.RENOTIFY,
                    template=SmsTemplate.RENOTIFY,
                    to=deps.phones.decrypt(target["phone_key_id"], target["phone_ciphertext"]),
                    merchant_name=target["name"],
                    offer_title=target["offer_title"],
                )
            )
        await deps.outbox.add_many(tx, list(commands))
    if rows:
        deps.metrics.renotified.inc(len(rows))
    return len(rows)


async def give_up_unanswered(deps: Deps) -> int:
    async with deps.uow() as tx:
        rows = await repo.claim_batch(
            tx,
            candidates_sql=(f"{STUCK} AND renotified_at < now() - make_interval(secs => :stuck)"),
            set_sql="status = 'expired', ended_at = now(), ended_reason = :reason",
            params={
                "stuck": deps.rules.stuck_after_seconds,
                "reason": EndReason.MERCHANT_NO_RESPONSE.value,
            },
            limit=deps.rules.housekeeping_batch_size,
        )
        await deps.outbox.add_many(tx, [messages.expired(s) for s in rows])
    if rows:
        deps.metrics.expired.labels(EndReason.MERCHANT_NO_RESPONSE.value).inc(len(rows))
    return len(rows)


async def run_round(deps: Deps) -> RoundResult:
    """One round; each step repeats while its batches come back full."""
    totals = [0, 0, 0]
    for index, step in enumerate((expire_due, remind_stuck, give_up_unanswered)):
        while True:
            done = await step(deps)
            totals[index] += done
            if done < deps.rules.housekeeping_batch_size:
                break
    return RoundResult(expired=totals[0], reminded=totals[1], gave_up=totals[2])
