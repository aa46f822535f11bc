"""Pure rules of an SMS delivery: status order, and what Twilio's error codes mean.

Statuses only move forward by rank, so a late ``sent`` after ``delivered`` changes nothing:

    pending, dead_lettered,
    resend_scheduled        -1   (no message at Twilio yet, or a re-send due; a replay resumes)
    accepted, scheduled      0
    queued                   1
    sending                  2
    sent                     3
    delivered, undelivered, failed   4   (the first terminal status wins)
    read                     5

Send-time codes (``reference/notifications.md`` §1.6) are kept as data: a permanent code fails the
delivery at once, a configuration code stops it in the DLQ (ops fix and replay), a transient one
retries on the queue's schedule; a 5xx, a timeout or a dropped connection is *ambiguous* (Twilio
may have accepted the message): the next attempt looks it up before sending again.
"""

from __future__ import annotations

from enum import StrEnum

PENDING = "pending"
DEAD_LETTERED = "dead_lettered"
RESEND_SCHEDULED = "resend_scheduled"  # undelivered with a retryable code: sent again later
TERMINAL = frozenset({"delivered", "undelivered", "failed"})

RANKS = {
    PENDING: -1,
    DEAD_LETTERED: -1,
    RESEND_SCHEDULED: -1,
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}


def rank(status: str) -> int:
    """Unknown statuses rank below everything a message can reach, so they never win."""
    return RANKS.get(status, -2)


class SendErrorClass(StrEnum):
    TRANSIENT = "transient"  # never processed: safe to send again after a pause
    PERMANENT = "permanent"  # no retry will help this message
    CONFIGURATION = "configuration"  # our account or sender is wrong: DLQ, alert, replay later
    AMBIGUOUS = "ambiguous"  # Twilio may have accepted it: look it up before sending again


OPTED_OUT_CODE = 21610
_PERMANENT = frozenset({21211, 21408, 21602, 21604, 21608, 21610, 21612, 21614, 21617, 21635})
_CONFIGURATION = frozenset(
    {20003, 20008, 20401, 20404, 21601, 21603, 21606, 21659, 21661, 21701, 30002, 30024, 30034}
)
_TRANSIENT = frozenset({20429, 21611})


def classify_send_error(http_status: int | None, code: int | None) -> SendErrorClass:
    if code in _TRANSIENT or http_status == 429:
        return SendErrorClass.TRANSIENT
    if code in _CONFIGURATION or http_status in (401, 403):
        return SendErrorClass.CONFIGURATION
    if code in _PERMANENT:
        return SendErrorClass.PERMANENT
    if http_status is not None and 400 <= http_status < 500:
        return SendErrorClass.PERMANENT  # an unknown 4xx never succeeds as sent
    return SendErrorClass.AMBIGUOUS


# Delivery-time codes (ErrorCode of an ``undelivered``/``failed`` callback) worth one more try
# (reference/notifications.md §1.6 and §3: 30001 queue overflow, 30003 unreachable handset,
# 30008 unknown error); the final ones are §1.6's "no" rows.
_RETRYABLE_DELIVERY = frozenset({30001, 30003, 30008})
_FINAL_DELIVERY = frozenset({30002, 30004, 30005, 30006, 30007, 30024, 30034})


def delivery_failure_retryable(code: int | None) -> bool:
    """Unknown 30xxx codes get a retry; known final ones and anything else do not."""
    if code is None or code in _FINAL_DELIVERY:
        return False
    return code in _RETRYABLE_DELIVERY or 30000 <= code < 31000
