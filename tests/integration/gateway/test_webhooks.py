"""Webhooks pass byte-for-byte with their signature headers, and the public URL the sender used.

Signatures are produced and checked with the real SDKs: Stripe's ``construct_event`` on the bytes
the upstream received, Twilio's ``RequestValidator`` against ``X-Nerava-Public-Url``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse

import stripe
from twilio.request_validator import RequestValidator

from tests.support.gateway_stack import StackFactory

PUBLIC_BASE = "https://api.nerava.test"
STRIPE_SECRET = "whsec_test_gateway"
TWILIO_TOKEN = "twilio-auth-token-for-tests"


def _stripe_header(payload: bytes, secret: str) -> str:
    timestamp = int(time.time())
    signed = f"{timestamp}.".encode() + payload
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


async def test_stripe_webhook_bytes_and_signature_arrive_unchanged(
    gateway_stack: StackFactory,
) -> None:
    # Odd spacing, key order and unicode: any re-serialisation would break the signature.
    payload = (
        b'{"id": "evt_1",  "type":"payout.paid", "object":"event",'
        b' "data": {"object": {"id": "po_1", "note": "caf\xc3\xa9 \\u00e9"}}}\n'
    )
    header = _stripe_header(payload, STRIPE_SECRET)
    async with gateway_stack(public_base_url=PUBLIC_BASE) as stack:
        resp = await stack.client.post(
            "/v1/webhooks/stripe",
            content=payload,
            headers={"Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8"},
        )
        assert resp.status_code == 200
        received = stack.last("payments")
        assert received.body == payload
        assert received.all("stripe-signature") == [header]
        assert received.header("content-type") == "application/json; charset=utf-8"
        event = stripe.Webhook.construct_event(received.body, header, STRIPE_SECRET)
        assert event["id"] == "evt_1"


async def test_twilio_webhook_signature_verifies_against_the_public_url(
    gateway_stack: StackFactory,
) -> None:
    params = {"From": "+15005550006", "To": "+15005550001", "Body": "DONE  ✓", "MessageSid": "SM1"}
    body = urllib.parse.urlencode(params).encode()
    path = "/v1/webhooks/twilio/sms?tenant=a%20b&x=1"
    validator = RequestValidator(TWILIO_TOKEN)
    signature = validator.compute_signature(PUBLIC_BASE + path, params)
    async with gateway_stack(public_base_url=PUBLIC_BASE) as stack:
        resp = await stack.client.post(
            path,
            content=body,
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-Host": "evil.example",  # never used for the public URL
            },
        )
        assert resp.status_code == 200
        received = stack.last("notifications")
        assert received.body == body
        assert received.all("x-twilio-signature") == [signature]
        public_url = received.header("x-nerava-public-url")
        assert public_url == PUBLIC_BASE + path
        form = dict(urllib.parse.parse_qsl(received.body.decode()))
        assert validator.validate(public_url, form, signature)
        assert not validator.validate(public_url, {**form, "Body": "forged"}, signature)


async def test_twilio_json_webhook_body_hash_survives(gateway_stack: StackFactory) -> None:
    payload = json.dumps({"a": 1, "b": "é"}, ensure_ascii=False).encode()
    async with gateway_stack(public_base_url=PUBLIC_BASE) as stack:
        resp = await stack.client.post(
            "/v1/webhooks/twilio/status",
            content=payload,
            headers={"Content-Type": "application/json"},
        )
        assert resp.status_code == 200
        assert (
            hashlib.sha256(stack.last("notifications").body).digest()
            == hashlib.sha256(payload).digest()
        )
