"""Pure rules: journals, amounts, kill switches, idempotency keys, the replay guard."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import pytest
from payments.errors import MoneyMovementDisabledError
from payments.idempotency_keys import KeyFormatError, request_hash, validate_key
from payments.kill_switches import Operation, Switch, blocking_switch
from payments.ledger import (
    GRANTS_ISSUANCE,
    InvalidJournalError,
    Journal,
    JournalKind,
    Leg,
    driver_wallet,
    transfer,
)
from payments.replay_guard import money_replay_guard


def test_a_transfer_nets_to_zero() -> None:
    journal = transfer(
        JournalKind.GRANT,
        "g:1",
        source=GRANTS_ISSUANCE,
        destination=driver_wallet(uuid.uuid4()),
        amount=5,
        actor_type="a",
        actor_id="b",
    )
    assert sum(leg.amount for leg in journal.legs) == 0


@pytest.mark.parametrize("amount", [0, -1, 1.0, "1", True, 10**16])
def test_bad_amounts_never_make_a_journal(amount: object) -> None:
    with pytest.raises(InvalidJournalError):
        transfer(
            JournalKind.GRANT,
            "g:1",
            source=GRANTS_ISSUANCE,
            destination=driver_wallet(uuid.uuid4()),
            amount=amount,  # type: ignore[arg-type]
            actor_type="a",
            actor_id="b",
        )


def test_unbalanced_or_single_leg_journals_are_refused() -> None:
    wallet = driver_wallet(uuid.uuid4())
    with pytest.raises(InvalidJournalError):
        Journal(JournalKind.ADJUSTMENT, "x", (Leg(wallet, 5), Leg(GRANTS_ISSUANCE, -4)), "a", "b")
    with pytest.raises(InvalidJournalError):
        Journal(JournalKind.ADJUSTMENT, "x", (Leg(wallet, 5),), "a", "b")
    with pytest.raises(InvalidJournalError):
        Leg(wallet, 0)


OPEN = {s: s is not Switch.BLOCK_ALL_MONEY_MOVEMENT for s in Switch}


def test_switch_rules_fail_closed() -> None:
    assert blocking_switch(OPEN, Operation.REDEEM) is None
    assert blocking_switch(None, Operation.GRANT) is Switch.BLOCK_ALL_MONEY_MOVEMENT
    assert blocking_switch({}, Operation.EARN) is Switch.BLOCK_ALL_MONEY_MOVEMENT
    partial = {Switch.BLOCK_ALL_MONEY_MOVEMENT: False}
    assert blocking_switch(partial, Operation.EARN) is Switch.NOVA_EARN_ENABLED
    off = {**OPEN, Switch.PAYOUTS_ENABLED: False}
    assert blocking_switch(off, Operation.PAYOUT) is Switch.PAYOUTS_ENABLED
    assert blocking_switch(off, Operation.REDEEM) is None
    blocked = {**OPEN, Switch.BLOCK_ALL_MONEY_MOVEMENT: True}
    assert all(blocking_switch(blocked, op) for op in Operation)


@pytest.mark.parametrize("key", ["a" * 15, "a" * 256, "a" * 15 + " ", "ключ" * 5, "a\tb" * 8])
def test_malformed_keys(key: str) -> None:
    with pytest.raises(KeyFormatError):
        validate_key(key)


def test_request_hash_is_canonical() -> None:
    a = request_hash("POST", "r", {"nova": 10, "merchant_id": "m"})
    assert a == request_hash("post", "r", {"merchant_id": "m", "nova": 10})
    assert a != request_hash("POST", "r", {"merchant_id": "m", "nova": 11})
    assert a != request_hash("POST", "other", {"merchant_id": "m", "nova": 10})


class FakeSwitches:
    def __init__(self, states: Mapping[Switch, bool] | None) -> None:
        self._states = states

    async def states(self) -> Mapping[Switch, bool] | None:
        return self._states

    async def require(self, operation: Operation) -> None:
        blocked = blocking_switch(self._states, operation)
        if blocked:
            raise MoneyMovementDisabledError(switch=blocked.value)

    def invalidate(self) -> None:
        pass


class Row:
    def __init__(self, queue: str) -> None:
        self.queue = queue


async def test_the_replay_guard_honours_the_switches() -> None:
    blocked = money_replay_guard(FakeSwitches({**OPEN, Switch.NOVA_EARN_ENABLED: False}))
    with pytest.raises(MoneyMovementDisabledError):
        await blocked([Row("payments.session_completed")])
    await blocked([Row("payments.merchants")])  # no money moves: allowed
    await money_replay_guard(FakeSwitches(OPEN))([Row("payments.session_completed")])
    with pytest.raises(MoneyMovementDisabledError):
        await money_replay_guard(FakeSwitches(None))([Row("payments.session_completed")])
