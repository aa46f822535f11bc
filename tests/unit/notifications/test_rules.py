"""Pure rules of the notifications service: reply parsing, status order, Twilio codes, templates,
phone sealing and the webhook guard (with the SDK's own signer)."""

from __future__ import annotations

import uuid

import pytest
from notifications.phone_vault import PhoneVault, generate_key_material, load_phone_keys, mask
from notifications.replies import parse_reply
from notifications.sms_status import (
    SendErrorClass,
    classify_send_error,
    delivery_failure_retryable,
    rank,
)
from notifications.templates import TemplateError, reference_mark, render
from notifications.twilio_webhooks import TwilioWebhookGuard
from twilio.request_validator import RequestValidator


@pytest.mark.parametrize(
    ("body", "keyword", "code", "opt_in"),
    [
        ("DONE 4821", "done", "4821", False),
        ("  done   #4821! ", "done", "4821", False),
        ("ok", "done", None, False),
        ("Confirm 0007", "done", "0007", False),
        ("STOP", "stop", None, False),
        ("unsubscribe", "stop", None, False),
        ("stop sending me these", "other", None, False),
        ("START", "other", None, True),
        ("help", "help", None, False),
        ("DONE 48211", "other", None, False),
        ("", "other", None, False),
        ("thanks!", "other", None, False),
    ],
)
def test_replies_are_parsed(body: str, keyword: str, code: str | None, opt_in: bool) -> None:
    reply = parse_reply(body)
    assert (reply.keyword, reply.reply_code, reply.opt_in) == (keyword, code, opt_in)


def test_statuses_only_rank_forward_and_unknown_ones_never_win() -> None:
    order = ["pending", "accepted", "queued", "sending", "sent", "delivered", "read"]
    assert [rank(s) for s in order] == sorted(rank(s) for s in order)
    assert rank("delivered") == rank("failed") == rank("undelivered")
    assert rank("dead_lettered") == rank("pending")
    assert rank("something-new") < rank("pending")


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, 20429, SendErrorClass.TRANSIENT),
        (400, 21211, SendErrorClass.PERMANENT),
        (400, 21610, SendErrorClass.PERMANENT),
        (400, 21614, SendErrorClass.PERMANENT),
        (400, 21606, SendErrorClass.CONFIGURATION),
        (401, 20003, SendErrorClass.CONFIGURATION),
        (400, 29999, SendErrorClass.PERMANENT),
        (500, None, SendErrorClass.AMBIGUOUS),
        (503, None, SendErrorClass.AMBIGUOUS),
        (None, None, SendErrorClass.AMBIGUOUS),
    ],
)
def test_send_errors_are_classified(status: int | None, code: int | None, expected: str) -> None:
    assert classify_send_error(status, code) is expected


def test_delivery_failures_worth_a_retry() -> None:
    assert delivery_failure_retryable(30003) and delivery_failure_retryable(30008)
    assert delivery_failure_retryable(30099)  # unknown 30xxx: one more try
    assert not delivery_failure_retryable(30006)
    assert not delivery_failure_retryable(None)


def test_templates_render_with_the_reply_code_and_a_reference_mark() -> None:
    mark = reference_mark(uuid.uuid4())
    params = {"merchant_name": "Volta", "offer_title": "a free espresso"}
    body = render("merchant_arrival", params, reply_code="4821", mark=mark)
    assert "Reply DONE 4821" in body and body.endswith(mark) and "Volta" in body
    with pytest.raises(TemplateError):
        render("merchant_arrival", {}, reply_code="4821", mark=mark)
    with pytest.raises(TemplateError):
        render("no_such_template", params, reply_code=None, mark=mark)


def test_phones_are_sealed_with_a_keyed_lookup_hash() -> None:
    keys = load_phone_keys({"k1": generate_key_material()}, "k1")
    vault = PhoneVault(keys, "k1", b"l" * 16 + b"o" * 16)
    sealed = vault.seal("+14155550123")
    assert b"4155550123" not in sealed.ciphertext
    assert vault.open(sealed.key_id, sealed.ciphertext) == "+14155550123"
    assert sealed.lookup_hash == vault.seal("+14155550123").lookup_hash
    other = PhoneVault(keys, "k1", b"x" * 32)
    assert other.lookup_hash("+14155550123") != sealed.lookup_hash
    assert mask("+14155550123") == "+1••••••0123"


def test_the_webhook_guard_accepts_only_twilios_signature_for_our_public_url() -> None:
    token, base, account = "twilio-auth-token-for-unit-tests", "https://api.nerava.test", "AC1"
    guard = TwilioWebhookGuard(token, base, account)
    path = "/v1/webhooks/twilio/status"
    url = f"{base}{path}?d=abc&n=1"
    params = {"AccountSid": "AC1", "MessageSid": "SM1", "MessageStatus": "sent", "ErrorCode": ""}
    signature = RequestValidator(token).compute_signature(url, params)
    form = {k: [v] for k, v in params.items()}

    def ok(**changes: object) -> bool:
        args: dict[str, object] = {
            "public_url": url,
            "path": path,
            "form": form,
            "signature": signature,
        }
        args.update(changes)
        return guard.verify(**args)  # type: ignore[arg-type]

    assert ok()
    assert not ok(signature=None)
    assert not ok(public_url=None)
    assert not ok(public_url=f"https://evil.test{path}?d=abc&n=1")
    assert not ok(path="/v1/webhooks/twilio/sms")
    assert not ok(form={**form, "MessageStatus": ["delivered"]})
    assert not ok(form={k: v for k, v in form.items() if k != "ErrorCode"})
    assert not ok(form={**form, "AccountSid": ["AC2"]})
    assert not TwilioWebhookGuard(None, base, account).verify(
        public_url=url, path=path, form=form, signature=signature
    )
