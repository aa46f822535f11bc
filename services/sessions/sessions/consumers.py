"""Subscribers of the sessions service: decode with this service's reader models, call a use
case. No SQL, no commit. Queue ``sessions.sms_events`` takes the SMS delivery reports and the
merchants' replies (one queue, so a reply and a report for one session are handled in order of
arrival by the same consumers; every handler is idempotent and order-tolerant anyway)."""

from __future__ import annotations

from messaging.subscriber import Delivery, Subscriptions

from sessions import notification_handlers
from sessions.contracts import (
    SmsDeliveredReader,
    SmsFailedReader,
    SmsReplyReceivedReader,
    SmsSentReader,
)
from sessions.deps import Deps

SMS_EVENTS_QUEUE = "sessions.sms_events"
STATUS_READERS: dict[str, type[SmsSentReader | SmsDeliveredReader | SmsFailedReader]] = {
    r.message_type: r for r in (SmsSentReader, SmsDeliveredReader, SmsFailedReader)
}

subscriptions: Subscriptions[Deps] = Subscriptions()


@subscriptions.subscribe(
    SMS_EVENTS_QUEUE,
    events=[
        r.message_type
        for r in (SmsSentReader, SmsDeliveredReader, SmsFailedReader, SmsReplyReceivedReader)
    ],
)
async def on_sms_event(delivery: Delivery[Deps]) -> None:
    deps = delivery.deps
    kind = delivery.envelope.type
    if kind == SmsReplyReceivedReader.message_type:
        await notification_handlers.record_sms_reply(
            deps,
            delivery.read(SmsReplyReceivedReader),
            consumer=delivery.consumer,
            message_id=delivery.message_id,
            follow_up=delivery.follow_up(),
        )
        return
    await notification_handlers.record_sms_status(
        deps,
        delivery.read(STATUS_READERS[kind]),
        consumer=delivery.consumer,
        message_id=delivery.message_id,
        follow_up=delivery.follow_up(),
    )
