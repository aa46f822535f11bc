"""Signed webhook delivery, as Twilio does it: form-encoded POST with ``X-Twilio-Signature``.

The signature is ``RequestValidator(auth_token).compute_signature(url, params)`` over the URL
Twilio requested (or a configured public URL override) and the sorted form parameters. Each
delivery carries an ``I-Twilio-Idempotency-Token``; a replay of the same event reuses it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from twilio.request_validator import RequestValidator

TWILIO_WEBHOOK_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)


@dataclass
class Delivery:
    kind: str
    url: str
    params: dict[str, str]
    idempotency_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: int | None = None
    response_body: str | None = None
    error: str | None = None
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "params": self.params,
            "idempotency_token": self.idempotency_token,
            "status": self.status,
            "response_body": self.response_body,
            "error": self.error,
            "attempts": self.attempts,
        }


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    signed: str = RequestValidator(auth_token).compute_signature(url, params)
    return signed


async def deliver(
    session: aiohttp.ClientSession,
    delivery: Delivery,
    *,
    auth_token: str,
    sign_url: str | None = None,
) -> Delivery:
    """POST ``delivery``; the outcome (status or transport error) is recorded on it.

    Like Twilio, a connection failure is retried once with the same idempotency token; an
    answer (any status) or a timeout is final.
    """
    headers = {
        "X-Twilio-Signature": signature(auth_token, sign_url or delivery.url, delivery.params),
        "I-Twilio-Idempotency-Token": delivery.idempotency_token,
        "User-Agent": "TwilioProxy/1.1",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    for attempt in (1, 2):
        delivery.attempts = attempt
        try:
            async with session.post(
                delivery.url, data=delivery.params, headers=headers, timeout=TWILIO_WEBHOOK_TIMEOUT
            ) as resp:
                delivery.status = resp.status
                delivery.response_body = (await resp.text())[:2000]
                delivery.error = None
                return delivery
        except aiohttp.ClientConnectionError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            return delivery
    return delivery
