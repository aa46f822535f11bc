"""Subscribers of the notifications service: decode with the reader model, call the handler.

No SQL and no commit here; each queue is ``notifications.<purpose>`` (DESIGN §10).
"""

from __future__ import annotations

from messaging.contracts import read
from messaging.subscriber import Delivery, Subscriptions

from notifications.consent_handlers import record_consent_change
from notifications.contracts import SendSmsV1, UserConsentChangedV1
from notifications.deps import NotificationsDeps
from notifications.send_handlers import send_sms
from notifications.settings import SEND_QUEUE

CONSENT_QUEUE = "notifications.consent"

subscriptions = Subscriptions()


def _deps(delivery: Delivery) -> NotificationsDeps:
    deps: NotificationsDeps = delivery.state.notifications
    return deps


@subscriptions.subscribe(CONSENT_QUEUE, events=[UserConsentChangedV1])
async def on_user_consent_changed(delivery: Delivery) -> None:
    change = read(delivery.envelope, UserConsentChangedV1)
    await record_consent_change(_deps(delivery), delivery, change)


@subscriptions.subscribe(SEND_QUEUE, commands=[SendSmsV1])
async def on_send_sms(delivery: Delivery) -> None:
    command = read(delivery.envelope, SendSmsV1)
    await send_sms(_deps(delivery), delivery, command)
