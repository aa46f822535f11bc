"""The message catalogue (docs/architecture.md, "Message catalogue"): each type, its publisher
and the fields its consumers may rely on. A publisher may add fields; removing or renaming one
of these is a new ``.vN``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    publisher: str
    fields: frozenset[str]


def _entry(publisher: str, fields: str) -> Entry:
    return Entry(publisher, frozenset(fields.split()))


_SMS_STATUS = "delivery_key reference status error_code at"
_BILLING = "billing_event_id merchant_id amount_minor currency stripe_payment_intent_id error_code"
_PAYOUT = "payout_id driver_id amount_minor currency nova"
_MERCHANT = "merchant_id owner_user_id name billing_amount_minor currency reward_nova active"
_SESSION_END = "session_id driver_id merchant_id at reason"

CATALOGUE: dict[str, Entry] = {
    "user.registered.v1": _entry("auth", "user_id role registered_at"),
    "user.consent_changed.v1": _entry(
        "auth", "user_id analytics marketing policy_version changed_at"
    ),
    "merchant.created.v1": _entry("sessions", _MERCHANT),
    "merchant.updated.v1": _entry("sessions", _MERCHANT),
    "session.activated.v1": _entry(
        "sessions", "session_id driver_id merchant_id charger_id expires_at"
    ),
    "session.arrival_reported.v1": _entry(
        "sessions", "session_id driver_id merchant_id reported_at"
    ),
    "notifications.sms.send": _entry(
        "sessions", "delivery_key to template params reference reply_code"
    ),
    "notifications.sms.resend": _entry("notifications", "delivery_key resend"),
    "notification.sms_sent.v1": _entry("notifications", _SMS_STATUS),
    "notification.sms_delivered.v1": _entry("notifications", _SMS_STATUS),
    "notification.sms_failed.v1": _entry("notifications", _SMS_STATUS + " permanent"),
    "sms.reply_received.v1": _entry(
        "notifications", "message_sid reference keyword reply_code received_at"
    ),
    "session.completed.v1": _entry(
        "sessions",
        "session_id driver_id merchant_id billing_event_id amount_minor currency reward_nova "
        "confirmed_via completed_at",
    ),
    "session.expired.v1": _entry("sessions", _SESSION_END),
    "session.cancelled.v1": _entry("sessions", _SESSION_END),
    "payments.billing.charge": _entry("payments", "billing_event_id"),
    "payments.payouts.execute": _entry("payments", "payout_id"),
    "payments.stripe_events.process": _entry("payments", "event_id"),
    "reward.credited.v1": _entry("payments", "session_id driver_id nova ledger_transaction_id"),
    "merchant.billed.v1": _entry("payments", _BILLING),
    "merchant.billing_failed.v1": _entry("payments", _BILLING),
    "payout.succeeded.v1": _entry("payments", _PAYOUT),
    "payout.failed.v1": _entry("payments", _PAYOUT),
    "payout.unknown.v1": _entry("payments", _PAYOUT),
    "account.erasure_requested.v1": _entry("auth", "user_id request_id"),
    "analytics.<name>": _entry("every service", "user_id name properties occurred_at"),
}

# The one message whose job is to carry a phone number.
MAY_CARRY_A_PHONE = frozenset({"notifications.sms.send"})


def catalogued_type(message_type: str) -> str:
    """Commands carry a version suffix on the wire (``notifications.sms.send.v1``); the
    catalogue names them by queue."""
    if message_type in CATALOGUE:
        return message_type
    return message_type.rsplit(".v", 1)[0]
