"""Twilio webhooks: parse -> handler -> response. No SQL, no commit.

``POST /v1/webhooks/twilio/status`` and ``POST /v1/webhooks/twilio/sms`` are public at the
gateway (Twilio calls them) and proven by Twilio's signature instead of a token: a missing or
forged signature, or a URL that is not our public one, is 403 ``webhook_signature_invalid`` and
changes nothing.
"""

# No `from __future__ import annotations`: FastAPI must see the route signatures' types.

import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, parse_qsl, urlsplit

from common.errors import DependencyUnavailable, InvalidInput
from common.openapi_errors import problems
from fastapi import APIRouter, Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from notifications.deps import Deps
from notifications.errors import WebhookSignatureInvalidError
from notifications.reply_handlers import InboundSms, record_inbound_sms
from notifications.status_handlers import StatusCallback, record_status_callback

STATUS_PATH = "/v1/webhooks/twilio/status"
INBOUND_PATH = "/v1/webhooks/twilio/sms"
PUBLIC_URL_HEADER = "x-nerava-public-url"
FORM = "application/x-www-form-urlencoded"

router = APIRouter(tags=["webhooks"])

WEBHOOK_RESPONSES = problems(WebhookSignatureInvalidError, InvalidInput, DependencyUnavailable)


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


async def verified_form(request: Request, path: str) -> tuple[dict[str, list[str]], str]:
    """The form Twilio signed and the public URL it signed it for; 403 otherwise."""
    body = (await request.body()).decode("utf-8", errors="replace")
    form: dict[str, list[str]] = {}
    if request.headers.get("content-type", "").split(";")[0].strip() == FORM:
        for name, value in parse_qsl(body, keep_blank_values=True):
            form.setdefault(name, []).append(value)
    public_url = request.headers.get(PUBLIC_URL_HEADER)
    if not _deps(request).webhooks.verify(
        public_url=public_url,
        path=path,
        form=form,
        signature=request.headers.get("x-twilio-signature"),
    ):
        raise WebhookSignatureInvalidError("The request is not signed by Twilio for this URL.")
    assert public_url is not None
    return form, public_url


def field(form: Mapping[str, Sequence[str]], name: str, *, required: bool = True) -> str | None:
    values = form.get(name) or []
    if not values or not values[0]:
        if required:
            raise InvalidInput(f"{name} is required.", field=name)
        return None
    return values[0]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@router.post(STATUS_PATH, status_code=204, responses=WEBHOOK_RESPONSES)
async def twilio_status_callback(request: Request) -> Response:
    """A message status callback (queued, sent, delivered, undelivered, failed...)."""
    form, public_url = await verified_form(request, STATUS_PATH)
    query = parse_qs(urlsplit(public_url).query)  # signed: part of the public URL
    delivery_id = (query.get("d") or [""])[0]
    try:
        parsed_delivery = uuid.UUID(delivery_id) if delivery_id else None
    except ValueError:
        parsed_delivery = None
    callback = StatusCallback(
        message_sid=str(field(form, "MessageSid")),
        status=str(field(form, "MessageStatus")).lower(),
        error_code=_int(field(form, "ErrorCode", required=False)),
        delivery_id=parsed_delivery,
        attempt_n=_int((query.get("n") or [""])[0]),
    )
    await record_status_callback(_deps(request), callback)
    return Response(status_code=204)


@router.post(
    INBOUND_PATH,
    response_class=Response,
    responses={200: {"content": {"text/xml": {}}}, **WEBHOOK_RESPONSES},
)
async def twilio_inbound_sms(request: Request) -> Response:
    """An SMS to our number: stored, matched, published; answered with empty TwiML (Twilio
    itself answers STOP/HELP; confirmations go through the normal send pipeline)."""
    form, _ = await verified_form(request, INBOUND_PATH)
    sms = InboundSms(
        message_sid=str(field(form, "MessageSid")),
        from_=str(field(form, "From")),
        body=field(form, "Body", required=False) or "",
    )
    await record_inbound_sms(_deps(request), sms)
    return Response(str(MessagingResponse()), media_type="text/xml")
