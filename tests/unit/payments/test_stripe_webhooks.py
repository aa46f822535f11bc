"""Webhook signatures (§6c 17, 24): raw bytes, a list of secrets, 300 s back, bounded ahead.

Signed with the SDK's own ``stripe.WebhookSignature.generate_signature_header``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
import stripe
from common.settings import Environment, ServiceSettings
from payments.stripe_settings import StripeSettings
from payments.stripe_webhooks import StripeWebhookVerifier, WebhookRejectedError

NOW = int(time.time())  # our verifier's clock is pinned to NOW; the SDK reads the real one
CURRENT = "whsec_current_secret_000000000001"
OLD = "whsec_retiring_secret_00000000002"
EVENT = {
    "id": "evt_1",
    "object": "event",
    "api_version": "2026-10-28.endive",
    "created": NOW - 2,
    "livemode": False,
    "type": "transfer.created",
    "data": {"object": {"id": "tr_1", "object": "transfer", "amount": 1500}},
}
RAW = json.dumps(EVENT, indent=2).encode()


def sign(raw: bytes, secret: str, timestamp: int = NOW) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(raw.decode(), secret, timestamp)
    return header


def both(raw: bytes, timestamp: int = NOW) -> str:
    extra = hmac.new(OLD.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"{sign(raw, CURRENT, timestamp)},v1={extra}"


def verifier(*secrets: str, now: float = NOW) -> StripeWebhookVerifier:
    return StripeWebhookVerifier(list(secrets) or [CURRENT], clock=lambda: now)


def rejected(v: StripeWebhookVerifier, raw: bytes, header: str | None) -> str:
    with pytest.raises(WebhookRejectedError) as caught:
        v.verify(raw, header)
    assert CURRENT not in str(caught.value) and (header or "x") not in str(caught.value)
    return caught.value.code


def test_a_valid_event_is_verified_and_parsed() -> None:
    event = verifier().verify(RAW, sign(RAW, CURRENT))
    assert (event.event_id, event.type, event.object_id) == ("evt_1", "transfer.created", "tr_1")
    assert (event.livemode, event.account, event.api_version) == (
        False,
        None,
        "2026-10-28.endive",
    )
    assert event.raw == RAW and event.signed_at == NOW and event.secret_index == 0
    now = int(time.time())  # the SDK checks against the real clock
    assert stripe.Webhook.construct_event(RAW, sign(RAW, CURRENT, now), CURRENT).id == "evt_1"


def test_one_byte_changed_is_rejected() -> None:
    tampered = RAW.replace(b"1500", b"1501")
    assert rejected(verifier(), tampered, sign(RAW, CURRENT)) == "webhook_signature_invalid"


def test_wrong_secret_and_missing_or_broken_headers() -> None:
    v = verifier()
    assert rejected(v, RAW, sign(RAW, "whsec_someone_else_000001")) == "webhook_signature_invalid"
    assert rejected(v, RAW, None) == "webhook_signature_missing"
    assert rejected(v, RAW, "") == "webhook_signature_missing"
    for header in (
        "v1=abc",
        f"t=abc,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW}",
        f"t={NOW},v0={'0' * 64}",
        "garbage",
        f"t={NOW}," + ",".join(f"v1={i:064x}" for i in range(9)),
        "t=1," + "x" * 5000,
    ):
        assert rejected(v, RAW, header) == "webhook_signature_invalid"


def test_old_timestamps_beyond_300_seconds_are_rejected() -> None:
    assert verifier(now=NOW + 300).verify(RAW, sign(RAW, CURRENT)).event_id == "evt_1"
    assert rejected(verifier(now=NOW + 301), RAW, sign(RAW, CURRENT)) == "webhook_signature_expired"


def test_future_timestamps_are_bounded_though_the_sdk_accepts_them() -> None:
    sdk_ahead = sign(RAW, CURRENT, int(time.time()) + 3600)
    stripe.WebhookSignature.verify_header(RAW, sdk_ahead, CURRENT, tolerance=300)  # the SDK: fine
    assert rejected(verifier(), RAW, sign(RAW, CURRENT, NOW + 3600)) == "webhook_signature_expired"
    assert verifier().verify(RAW, sign(RAW, CURRENT, NOW + 300)).event_id == "evt_1"


def test_secret_roll_both_signatures_either_secret_configured() -> None:
    header = both(RAW)
    assert verifier(OLD).verify(RAW, header).secret_index == 0
    assert verifier(CURRENT).verify(RAW, header).secret_index == 0
    assert verifier(CURRENT, OLD).verify(RAW, sign(RAW, OLD)).secret_index == 1
    assert rejected(verifier(CURRENT), RAW, sign(RAW, OLD)) == "webhook_signature_invalid"


def test_the_raw_bytes_are_what_is_signed() -> None:
    """Re-serialising the JSON (as a framework might) would break it; the raw body verifies."""
    compact = json.dumps(json.loads(RAW)).encode()
    header = sign(RAW, CURRENT)
    assert compact != RAW
    assert verifier().verify(RAW, header).payload == json.loads(compact)
    assert rejected(verifier(), compact, header) == "webhook_signature_invalid"


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe not utf-8",
        b"[]",
        b"{not json",
        json.dumps({**EVENT, "object": "transfer"}).encode(),
        json.dumps({**EVENT, "id": 7}).encode(),
        json.dumps({**EVENT, "created": "yesterday"}).encode(),
        json.dumps({**EVENT, "data": {}}).encode(),
    ],
)
def test_a_signed_body_that_is_no_event_is_invalid_payload(raw: bytes) -> None:
    header = (
        f"t={NOW},v1="
        + hmac.new(CURRENT.encode(), f"{NOW}.".encode() + raw, hashlib.sha256).hexdigest()
    )
    assert rejected(verifier(), raw, header) == "webhook_payload_invalid"


def test_connect_events_carry_the_account() -> None:
    raw = json.dumps({**EVENT, "type": "account.updated", "account": "acct_9"}).encode()
    event = verifier().verify(raw, sign(raw, CURRENT))
    assert (event.type, event.account) == ("account.updated", "acct_9")


def test_a_verifier_needs_secrets() -> None:
    with pytest.raises(ValueError):
        StripeWebhookVerifier([])
    with pytest.raises(ValueError):
        StripeWebhookVerifier([CURRENT], tolerance_seconds=0)


def test_the_verifier_from_settings_uses_every_configured_secret() -> None:
    class Settings(ServiceSettings, StripeSettings):
        pass

    settings = Settings(env=Environment.TEST, stripe_webhook_secrets=[CURRENT, OLD])
    assert isinstance(settings, StripeSettings)
    from_settings = StripeWebhookVerifier.from_settings(settings)
    assert from_settings.verify(RAW, sign(RAW, OLD, int(time.time()))).secret_index == 1
