"""Use case: an SMS a merchant sent us (``DONE 4821``, ``STOP``...), received once per MessageSid.

Stored (body as received, phone encrypted with a keyed hash for lookup), matched to the delivery
it answers among those sent to that phone within ``REPLY_WINDOW_SECONDS``: by its reply code,
or else the only one still open (several open and no code: unmatched), and published as
``sms.reply_received.v1`` in the same commit. STOP opts the phone out (no send reaches it until
START). Nothing here calls Twilio, so the webhook answers in milliseconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from notifications import delivery_repository as repo
from notifications import inbound_repository as inbound
from notifications.contracts import SmsReplyReceivedV1
from notifications.delivery_events import publish
from notifications.delivery_repository import DeliveryRow
from notifications.deps import Deps
from notifications.replies import Reply, parse_reply

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    from_: str
    body: str


def match(reply: Reply, open_deliveries: list[DeliveryRow]) -> DeliveryRow | None:
    if reply.reply_code is not None:
        coded = [row for row in open_deliveries if row.reply_code == reply.reply_code]
        return coded[0] if coded else None
    return open_deliveries[0] if len(open_deliveries) == 1 else None


async def record_inbound_sms(deps: Deps, sms: InboundSms) -> None:
    reply = parse_reply(sms.body)
    phone = deps.phones.seal(sms.from_)
    async with deps.uow() as tx:
        now = deps.clock()
        inbound_id = await inbound.insert_inbound(
            tx,
            message_sid=sms.message_sid,
            phone=phone,
            body=sms.body,
            keyword=reply.keyword,
            reply_code=reply.reply_code,
            at=now,
        )
        if inbound_id is None:
            return  # Twilio retried a message we already have
        if reply.opt_out or reply.opt_in:
            await repo.set_opt_out(tx, phone.lookup_hash, opted_out=reply.opt_out, at=now)
        answered = match(
            reply,
            await inbound.open_deliveries(
                tx, phone.lookup_hash, since=now - deps.send_policy.reply_window
            ),
        )
        if answered is not None:
            await inbound.mark_answered(
                tx, inbound_id, answered.id, replied=reply.keyword == "done", at=now
            )
        event = SmsReplyReceivedV1(
            message_sid=sms.message_sid,
            reference=answered.reference if answered else None,
            keyword=reply.keyword,
            reply_code=reply.reply_code or (answered.reply_code if answered else None),
            received_at=now,
        )
        await publish(tx, deps, None, event)
    logger.info(
        "inbound sms",
        extra={
            "keyword": reply.keyword,
            "matched": answered is not None,
            "opted_out": reply.opt_out,
        },
    )
