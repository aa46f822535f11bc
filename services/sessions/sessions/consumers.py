"""Subscribers of the sessions service: decode with this service's reader models, call a use
case. No SQL, no commit. Queue ``sessions.sms_events`` takes the SMS delivery reports and the
merchants' replies (one queue, so a reply and a report for one session are handled in order of
arrival by the same consumers; every handler is idempotent and order-tolerant anyway)."""

from __future__ import annotations

from messaging.contracts import read
from messaging.subscriber import Delivery, Subscriptions

from sessions import notification_handlers
from sessions.contracts import (
    SmsDeliveredReader,
    SmsFailedReader,
    SmsReplyReceivedReader,
    SmsSentReader,
    SmsStatusReader,
)
from sessions.deps import Deps

SMS_EVENTS_QUEUE = "sessions.sms_events"
STATUS_READERS: dict[str, type[SmsStatusReader]] = {
    r.message_type: r for r in (SmsSentReader, SmsDeliveredReader, SmsFailedReader)
}

subscriptions = Subscriptions()


@subscriptions.subscribe(
    SMS_EVENTS_QUEUE,
    events=[SmsSentReader, SmsDeliveredReader, SmsFailedReader, SmsReplyReceivedReader],
)
async def on_sms_event(delivery: Delivery) -> None:
    deps: Deps = delivery.state.sessions
    kind = delivery.envelope.type
    if kind == SmsReplyReceivedReader.message_type:
        await notification_handlers.record_sms_reply(
            deps,
            read(delivery.envelope, SmsReplyReceivedReader),
            consumer=delivery.consumer,
            message_id=delivery.message_id,
            follow_up=delivery.follow_up(),
        )
        return
    await notification_handlers.record_sms_status(
        deps,
        read(delivery.envelope, STATUS_READERS[kind]),
        consumer=delivery.consumer,
        message_id=delivery.message_id,
        follow_up=delivery.follow_up(),
    )
