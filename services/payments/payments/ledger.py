"""Pure rules of the Nova ledger: the chart of accounts and what a valid journal is.

Amounts are whole Nova, Python ``int`` only (never ``bool`` or ``float``), each leg non-zero
and within Postgres ``bigint``; a journal has at least two legs and nets to zero. The database
enforces the same rules again (``post_journal``, the deferred zero-sum trigger, CHECKs).

Chart of accounts (asset NOVA):
    driver/<id>/wallet            a driver's Nova (never negative)
    merchant/<id>/nova            Nova redeemed at (or granted to) a merchant (never negative)
    system/platform/rewards       issuance for session rewards (negative: Nova minted)
    system/platform/grants        issuance for admin grants (negative: Nova minted)
    system/platform/payout_clearing, system/platform/payout_settled   the Stripe half's
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

NOVA = "NOVA"
BIGINT_MAX = 2**63 - 1
MAX_NOVA_AMOUNT = 10**15
"""The largest amount one request may move: far below bigint, so sums cannot overflow."""


class OwnerType(StrEnum):
    DRIVER = "driver"
    MERCHANT = "merchant"
    SYSTEM = "system"


class JournalKind(StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    GRANT = "grant"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"
    PAYOUT_DEBIT = "payout_debit"
    PAYOUT_SETTLE = "payout_settle"
    PAYOUT_REVERSAL = "payout_reversal"


@dataclass(frozen=True, slots=True)
class AccountRef:
    owner_type: OwnerType
    owner_id: str
    purpose: str
    allow_negative: bool = False


PLATFORM = "platform"
REWARDS_ISSUANCE = AccountRef(OwnerType.SYSTEM, PLATFORM, "rewards", allow_negative=True)
GRANTS_ISSUANCE = AccountRef(OwnerType.SYSTEM, PLATFORM, "grants", allow_negative=True)
PAYOUT_CLEARING = AccountRef(OwnerType.SYSTEM, PLATFORM, "payout_clearing")
PAYOUT_SETTLED = AccountRef(OwnerType.SYSTEM, PLATFORM, "payout_settled")
ISSUANCE_ACCOUNTS = (REWARDS_ISSUANCE, GRANTS_ISSUANCE)


def driver_wallet(driver_id: uuid.UUID) -> AccountRef:
    return AccountRef(OwnerType.DRIVER, str(driver_id), "wallet")


def merchant_account(merchant_id: uuid.UUID) -> AccountRef:
    return AccountRef(OwnerType.MERCHANT, str(merchant_id), "nova")


class InvalidJournalError(ValueError):
    """A journal the ledger must never post (a programming error, not user input)."""


def check_amount(amount: object) -> int:
    """``amount`` as a positive whole-Nova int within the per-request bound, or raise."""
    if type(amount) is not int:
        raise InvalidJournalError(f"amounts are whole Nova ints, got {type(amount).__name__}")
    if not 0 < amount <= MAX_NOVA_AMOUNT:
        raise InvalidJournalError(f"amount {amount} outside 1..{MAX_NOVA_AMOUNT}")
    return amount


@dataclass(frozen=True, slots=True)
class Leg:
    account: AccountRef
    amount: int

    def __post_init__(self) -> None:
        if type(self.amount) is not int or self.amount == 0 or abs(self.amount) > BIGINT_MAX:
            raise InvalidJournalError(f"a leg needs a non-zero bigint amount, got {self.amount!r}")


@dataclass(frozen=True, slots=True)
class Journal:
    kind: JournalKind
    external_ref: str
    """Permanent business dedup: one journal per (kind, external_ref), whatever retries."""
    legs: tuple[Leg, ...]
    actor_type: str
    actor_id: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.legs) < 2:
            raise InvalidJournalError("a journal needs at least two legs")
        if sum(leg.amount for leg in self.legs) != 0:
            raise InvalidJournalError("a journal must net to zero")
        if not 0 < len(self.external_ref) <= 300:
            raise InvalidJournalError("external_ref must be 1..300 characters")


def transfer(
    kind: JournalKind,
    external_ref: str,
    *,
    source: AccountRef,
    destination: AccountRef,
    amount: int,
    actor_type: str,
    actor_id: str,
    metadata: dict[str, Any] | None = None,
) -> Journal:
    """Moves ``amount`` from ``source`` to ``destination`` (two legs)."""
    moved = check_amount(amount)
    if source == destination:
        raise InvalidJournalError("source and destination must differ")
    return Journal(
        kind=kind,
        external_ref=external_ref,
        legs=(Leg(source, -moved), Leg(destination, moved)),
        actor_type=actor_type,
        actor_id=actor_id,
        metadata=dict(metadata or {}),
    )


def reward_journal(
    session_id: uuid.UUID, driver_id: uuid.UUID, nova: int, merchant_id: uuid.UUID
) -> Journal:
    return transfer(
        JournalKind.EARN,
        f"session:{session_id}",
        source=REWARDS_ISSUANCE,
        destination=driver_wallet(driver_id),
        amount=nova,
        actor_type="system",
        actor_id="rewards",
        metadata={"session_id": str(session_id), "merchant_id": str(merchant_id)},
    )
