"""The exclusive-session state machine.

    active ──arrival──► arrived ──sms delivered──► merchant_notified
       │                   │                            │
       └───────────────────┴────────────────────────────┴──► completed | expired | cancelled

Open states are ``active``, ``arrived``, ``merchant_notified``; the rest are terminal. A code
presented in the shop proves presence, so completion is allowed from every open state. Every
transition is a guarded ``UPDATE … WHERE status = ANY(expected)`` (see ``repository``); this
module is the single list of which moves are legal.
"""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    ACTIVE = "active"
    ARRIVED = "arrived"
    MERCHANT_NOTIFIED = "merchant_notified"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ConfirmedVia(StrEnum):
    SMS = "sms"
    MERCHANT_API = "merchant_api"
    ADMIN = "admin"


class EndReason(StrEnum):
    TIMEOUT = "timeout"
    MERCHANT_NO_RESPONSE = "merchant_no_response"
    DRIVER_CANCELLED = "driver_cancelled"
    ADMIN_CANCELLED = "admin_cancelled"


class NotifyStatus(StrEnum):
    DELIVERED = "delivered"
    MERCHANT_UNREACHABLE = "merchant_unreachable"


OPEN: tuple[SessionStatus, ...] = (
    SessionStatus.ACTIVE,
    SessionStatus.ARRIVED,
    SessionStatus.MERCHANT_NOTIFIED,
)
TERMINAL: tuple[SessionStatus, ...] = (
    SessionStatus.COMPLETED,
    SessionStatus.EXPIRED,
    SessionStatus.CANCELLED,
)
OPEN_SQL = "status IN ('active', 'arrived', 'merchant_notified')"
"""The open-state predicate as a literal, exactly as the partial unique indexes are declared:
``ON CONFLICT … WHERE`` must repeat it literally (a bound parameter breaks under a generic plan)."""

TRANSITIONS: dict[SessionStatus, tuple[SessionStatus, ...]] = {
    SessionStatus.ARRIVED: (SessionStatus.ACTIVE,),
    SessionStatus.MERCHANT_NOTIFIED: (SessionStatus.ARRIVED,),
    SessionStatus.COMPLETED: OPEN,
    SessionStatus.EXPIRED: OPEN,
    SessionStatus.CANCELLED: OPEN,
}
"""target state -> the states it may be entered from."""


def sources(target: SessionStatus) -> tuple[SessionStatus, ...]:
    return TRANSITIONS.get(target, ())


def can_move(current: SessionStatus, target: SessionStatus) -> bool:
    return current in sources(target)


def is_open(status: SessionStatus) -> bool:
    return status in OPEN
