"""Examples of the messages payments publishes."""

from __future__ import annotations

import uuid

from messaging.contracts import Message
from payments.contracts import RewardCreditedV1

EXAMPLES: list[Message] = [
    RewardCreditedV1(
        session_id=uuid.uuid4(),
        driver_id=uuid.uuid4(),
        nova=15,
        ledger_transaction_id=uuid.uuid4(),
    ),
]
