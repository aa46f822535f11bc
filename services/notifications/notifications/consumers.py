"""Subscribers of the notifications service: decode with the reader model, call the handler.

No SQL and no commit here; each queue is ``notifications.<purpose>`` (DESIGN §10).
"""

from __future__ import annotations

from messaging.subscriber import Delivery, Subscriptions

from notifications.consent_handlers import record_consent_change
from notifications.contracts import ResendSmsV1, SendSms, UserConsentChanged
from notifications.deps import Deps
from notifications.resend_handlers import resend_sms
from notifications.send_handlers import send_sms
from notifications.settings import RESEND_QUEUE, SEND_QUEUE

CONSENT_QUEUE = "notifications.consent"

subscriptions: Subscriptions[Deps] = Subscriptions()


@subscriptions.subscribe(CONSENT_QUEUE, events=[UserConsentChanged.message_type])
async def on_user_consent_changed(delivery: Delivery[Deps]) -> None:
    change = delivery.read(UserConsentChanged)
    await record_consent_change(delivery.deps, delivery, change)


@subscriptions.subscribe(SEND_QUEUE, commands=[SendSms.message_type])
async def on_send_sms(delivery: Delivery[Deps]) -> None:
    command = delivery.read(SendSms)
    await send_sms(delivery.deps, delivery, command)


@subscriptions.subscribe(RESEND_QUEUE, commands=[ResendSmsV1.message_type])
async def on_resend_sms(delivery: Delivery[Deps]) -> None:
    command = delivery.read(ResendSmsV1)
    await resend_sms(delivery.deps, delivery, command)
