"""``POST /v1/webhooks/stripe``: verify the raw bytes, store the event, answer at once.

Public at the gateway (route class ``webhooks``; it passes emergency read-only mode), proven by
Stripe's signature instead of a token. The body is verified exactly as received (never parsed
and re-serialised first) against every configured signing secret
(``payments.stripe_webhooks``): a missing, forged or stale signature, or a signed body that is
not a Stripe event, is 400 with the verifier's code and stores nothing. A verified event is
stored once (a duplicate answers 200 too) and processed later by the worker; Postgres unable to
answer is 503 ``dependency_unavailable`` with nothing stored, so Stripe delivers it again.
No SQL, no commit here.
"""

# No `from __future__ import annotations`: FastAPI must see the route signature's types.

from common.errors import DependencyUnavailable, InvalidInput
from common.openapi_errors import problems
from fastapi import APIRouter, Request
from pydantic import BaseModel

from payments import stripe_event_handlers
from payments.api import Deps
from payments.stripe_webhooks import WebhookRejectedError

WEBHOOK_PATH = "/v1/webhooks/stripe"
REJECTION_CODES = (
    "webhook_signature_missing",
    "webhook_signature_invalid",
    "webhook_signature_expired",
    "webhook_payload_invalid",
)

router = APIRouter(tags=["webhooks"])


class WebhookReceived(BaseModel):
    event_id: str
    duplicate: bool


@router.post(
    WEBHOOK_PATH,
    response_model=WebhookReceived,
    responses=problems(*((400, code) for code in REJECTION_CODES), DependencyUnavailable),
    openapi_extra={
        "parameters": [
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": True,
                "description": "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>[,v1=…]",
                "schema": {"type": "string", "maxLength": 4096, "pattern": r"^t=\d+,"},
            }
        ],
        "requestBody": {
            "required": True,
            "description": "A Stripe event, verified over the bytes exactly as sent.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
)
async def stripe_webhook(request: Request, deps: Deps) -> WebhookReceived:
    raw = await request.body()
    try:
        webhook = deps.webhooks.verify(raw, request.headers.get("stripe-signature"))
    except WebhookRejectedError as rejected:
        deps.event_metrics.rejected.labels(rejected.code).inc()
        raise InvalidInput(rejected.detail, code=rejected.code) from None
    stored = await stripe_event_handlers.receive_webhook(deps, webhook)
    return WebhookReceived(event_id=webhook.event_id, duplicate=not stored)
