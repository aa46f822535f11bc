"""The dead-letter replay guard of payments: a replay that would move money honours the
kill switches (refused with 503 ``money_movement_disabled``, rows left unresolved)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from payments.consumers import BILLING_CHARGE_QUEUE, MONEY_QUEUES, PAYOUTS_EXECUTE_QUEUE
from payments.deps import KillSwitchCheck
from payments.kill_switches import Operation


def money_replay_guard(switches: KillSwitchCheck) -> Callable[[Sequence[Any]], Awaitable[None]]:
    async def guard(rows: Sequence[Any]) -> None:
        queues = {row.queue for row in rows}
        if queues & MONEY_QUEUES:
            await switches.require(Operation.EARN)
        if BILLING_CHARGE_QUEUE in queues:
            await switches.require(Operation.BILLING)
        if PAYOUTS_EXECUTE_QUEUE in queues:
            await switches.require(Operation.PAYOUT)

    return guard
