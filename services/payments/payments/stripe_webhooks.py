"""Verifying a Stripe webhook: the raw bytes, a list of signing secrets, a bounded timestamp.

``Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` where each ``v1`` is
``HMAC-SHA256(secret, "<t>." + raw body)``; during a secret roll Stripe sends one ``v1`` per
active secret. :class:`StripeWebhookVerifier` accepts a request when any configured secret
(``STRIPE_WEBHOOK_SECRETS``: the current one first, then the one being retired) matches any
``v1`` entry, over the body exactly as received (never a re-serialised JSON), and the
timestamp is at most ``tolerance_seconds`` old (300 s, Stripe's) and at most
``max_future_seconds`` ahead of our clock. stripe-python's ``WebhookSignature.verify_header``
takes one secret, decodes the body as text first and accepts any future timestamp, hence this
module; its signatures are the SDK's, and the tests sign with the SDK's own helper.

A failure is a :class:`WebhookRejectedError` with a stable ``code`` (the problem+json code of
the 400 the webhook route answers); it never echoes the header, the body or a secret. Only then
is the body parsed: a signed body that is not a Stripe event is ``webhook_payload_invalid``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from payments.stripe_settings import StripeSettings

MAX_HEADER_LENGTH = 4096
MAX_SIGNATURES = 8


class WebhookRejectedError(ValueError):
    """The request is not a verified Stripe event; ``code`` says why (answer 400)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class VerifiedWebhook:
    """A Stripe event whose signature and age were checked, with its raw bytes for storage."""

    event_id: str
    type: str
    created: int
    livemode: bool
    account: str | None
    api_version: str | None
    object_id: str | None
    payload: Mapping[str, Any]
    raw: bytes
    signed_at: int
    # Which configured secret matched (0: the current one; more: one being rotated out).
    secret_index: int


def _parse_header(header: str | None) -> tuple[str, list[str]]:
    if not header:
        raise WebhookRejectedError("webhook_signature_missing", "no Stripe-Signature header")
    if len(header) > MAX_HEADER_LENGTH:
        raise WebhookRejectedError("webhook_signature_invalid", "Stripe-Signature is too long")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            signatures.append(value.lower())
    if len(timestamps) != 1 or not timestamps[0].isdigit() or len(timestamps[0]) > 12:
        raise WebhookRejectedError("webhook_signature_invalid", "no single numeric timestamp")
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise WebhookRejectedError("webhook_signature_invalid", "no (or too many) v1 signatures")
    return timestamps[0], signatures


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _event(raw: bytes, signed_at: int, secret_index: int) -> VerifiedWebhook:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejectedError("webhook_payload_invalid", "the body is not JSON") from None
    if not isinstance(data, dict) or data.get("object") != "event":
        raise WebhookRejectedError("webhook_payload_invalid", "the body is not a Stripe event")
    event_id, kind, created = data.get("id"), data.get("type"), data.get("created")
    inner = data.get("data")
    obj = inner.get("object") if isinstance(inner, dict) else None
    if (
        not isinstance(event_id, str)
        or not event_id.startswith("evt_")
        or not isinstance(kind, str)
        or not kind
        or isinstance(created, bool)
        or not isinstance(created, int)
        or not isinstance(data.get("livemode"), bool)
        or not isinstance(obj, dict)
    ):
        raise WebhookRejectedError("webhook_payload_invalid", "an event field is missing")
    return VerifiedWebhook(
        event_id=event_id,
        type=kind,
        created=created,
        livemode=bool(data["livemode"]),
        account=_str_or_none(data.get("account")),
        api_version=_str_or_none(data.get("api_version")),
        object_id=_str_or_none(obj.get("id")),
        payload=data,
        raw=raw,
        signed_at=signed_at,
        secret_index=secret_index,
    )


class StripeWebhookVerifier:
    def __init__(
        self,
        secrets: Sequence[str],
        *,
        tolerance_seconds: float = 300,
        max_future_seconds: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secrets or any(not s for s in secrets):
            raise ValueError("at least one webhook signing secret is required")
        if tolerance_seconds <= 0 or max_future_seconds < 0:
            raise ValueError("the tolerance is > 0 seconds and the future bound >= 0")
        self._secrets = [s.encode() for s in secrets]
        self._tolerance = tolerance_seconds
        self._max_future = max_future_seconds
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: StripeSettings) -> StripeWebhookVerifier:
        return cls(
            [s.get_secret_value() for s in settings.stripe_webhook_secrets],
            tolerance_seconds=settings.stripe_webhook_tolerance_seconds,
            max_future_seconds=settings.stripe_webhook_max_future_seconds,
        )

    def verify(self, raw: bytes, header: str | None) -> VerifiedWebhook:
        """The verified event, or :class:`WebhookRejectedError`."""
        timestamp, signatures = _parse_header(header)
        signed = timestamp.encode() + b"." + raw
        matched = None
        for index, secret in enumerate(self._secrets):
            expected = hmac.new(secret, signed, hashlib.sha256).hexdigest()
            if any(hmac.compare_digest(expected, given) for given in signatures):
                matched = index
                break
        if matched is None:
            raise WebhookRejectedError(
                "webhook_signature_invalid", "no signature matches a configured secret"
            )
        signed_at = int(timestamp)
        now = self._clock()
        if now - signed_at > self._tolerance:
            raise WebhookRejectedError("webhook_signature_expired", "the timestamp is too old")
        if signed_at - now > self._max_future:
            raise WebhookRejectedError(
                "webhook_signature_expired", "the timestamp is in the future"
            )
        return _event(raw, signed_at, matched)
