"""Use case: one analytics event from the lossy queue, kept only when the rules allow it.

Returns the outcome the sink counts: ``stored``, ``duplicate``, ``no_consent``,
``pii_without_user`` or ``invalid``. Never raises for a bad event: analytics never fail anyone.
A newly stored event is also handed to the forwarder (PostHog) when one is configured; a
redelivered one is not forwarded twice.
"""

from __future__ import annotations

from messaging.envelope import Envelope
from pydantic import ValidationError

from notifications import analytics_repository, consent_repository
from notifications.analytics_rules import KeptEvent, allows_analytics, carries_personal_data
from notifications.contracts import AnalyticsEvent
from notifications.deps import Deps


async def record_analytics_event(deps: Deps, envelope: Envelope) -> str:
    try:
        event = AnalyticsEvent.model_validate(envelope.data)
    except ValidationError:
        return "invalid"
    if event.user_id is None and carries_personal_data(event.properties):
        return "pii_without_user"
    kept = KeptEvent(
        message_id=envelope.message_id,
        name=event.name,
        user_id=event.user_id,
        producer=envelope.producer,
        properties=event.properties,
        occurred_at=event.occurred_at,
    )
    async with deps.uow() as tx:
        if event.user_id is not None:
            consent = await consent_repository.consent_of(tx, event.user_id)
            if not allows_analytics(consent, event.occurred_at):
                return "no_consent"
        stored = await analytics_repository.store(tx, kept)
    if not stored:
        return "duplicate"
    if deps.analytics_forwarder is not None:
        deps.analytics_forwarder.forward(kept)  # after the commit: never slows or fails this
    return "stored"
