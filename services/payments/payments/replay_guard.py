"""The dead-letter replay guard of payments: a replay that would move money honours the
kill switches (refused with 503 ``money_movement_disabled``, rows left unresolved)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from payments.consumers import MONEY_QUEUES
from payments.deps import KillSwitchCheck
from payments.kill_switches import Operation


def money_replay_guard(switches: KillSwitchCheck) -> Callable[[Sequence[Any]], Awaitable[None]]:
    async def guard(rows: Sequence[Any]) -> None:
        if any(row.queue in MONEY_QUEUES for row in rows):
            await switches.require(Operation.EARN)

    return guard
