"""Pure rules of the kill switches: which switch blocks which money movement.

``BLOCK_ALL_MONEY_MOVEMENT`` blocks everything while it is on; the ``*_ENABLED`` switches allow
their operation only while on. A switch whose state is unknown (missing row, unreadable store)
counts as blocking: the rules fail closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Switch(StrEnum):
    BLOCK_ALL_MONEY_MOVEMENT = "BLOCK_ALL_MONEY_MOVEMENT"
    NOVA_EARN_ENABLED = "NOVA_EARN_ENABLED"
    NOVA_REDEEM_ENABLED = "NOVA_REDEEM_ENABLED"
    PAYOUTS_ENABLED = "PAYOUTS_ENABLED"


class Operation(StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    GRANT = "grant"
    PAYOUT = "payout"
    BILLING = "billing"


_ALLOWED_BY: dict[Operation, Switch | None] = {
    Operation.EARN: Switch.NOVA_EARN_ENABLED,
    Operation.REDEEM: Switch.NOVA_REDEEM_ENABLED,
    Operation.PAYOUT: Switch.PAYOUTS_ENABLED,
    Operation.GRANT: None,
    Operation.BILLING: None,
}


def blocking_switch(states: Mapping[Switch, bool] | None, operation: Operation) -> Switch | None:
    """The switch that blocks ``operation`` now (None: allowed). ``states`` None: unknown."""
    if states is None or states.get(Switch.BLOCK_ALL_MONEY_MOVEMENT, True):
        return Switch.BLOCK_ALL_MONEY_MOVEMENT
    needed = _ALLOWED_BY[operation]
    if needed is not None and not states.get(needed, False):
        return needed
    return None
