"""What a send does next with a delivery, read from its state (pure).

Shared by the general path, which reads the state under the delivery's row lock, and by the
retry statements (``retry_statements``), which read a snapshot and guard each write they make.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from messaging.failures import TransientError

from notifications.delivery_repository import AttemptRow

UNSETTLED = frozenset({"sending", "unknown"})  # the attempt's SMS may exist at Twilio


class NextStep(Enum):
    NOTHING = "nothing"  # accepted, delivered or failed already: a duplicate command
    OPTED_OUT = "opted_out"  # the phone said STOP: fail without calling Twilio
    RECONCILE = "reconcile"  # look the earlier attempt up before sending again
    SEND = "send"  # a new attempt


def next_step(
    status_rank: int, opted_out: bool, last: AttemptRow | None, now: datetime, lease: timedelta
) -> NextStep:
    """From the delivery's rank, its phone's opt-out and its latest attempt. Raises
    ``TransientError`` while another worker's attempt is within its ``lease``."""
    if status_rank >= 0:
        return NextStep.NOTHING
    if opted_out:
        return NextStep.OPTED_OUT
    if last is not None and last.outcome in UNSETTLED:
        if last.outcome == "sending" and now - last.started_at < lease:
            raise TransientError("another attempt of this delivery is in flight")
        return NextStep.RECONCILE
    return NextStep.SEND
