"""The fake Stripe account: API key, webhook endpoint and secret, starting balance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

LOCAL_API_KEY = "sk_test_local"
LOCAL_WEBHOOK_SECRET = "whsec_local_fake_stripe_webhook_secret_0001"
API_VERSION = "2025-09-30.clover"
DEFAULT_AVAILABLE = 10_000_000  # 100,000.00 in the default currency


@dataclass
class StripeFakeConfig:
    api_key: str = LOCAL_API_KEY
    webhook_secret: str = LOCAL_WEBHOOK_SECRET
    # Where events go (Stripe's webhook endpoint); None: events are only listed.
    webhook_url: str | None = None
    # Deliver the events API calls create (transfer.created, payment_intent.*) automatically.
    deliver_events: bool = True
    api_version: str = API_VERSION
    currency: str = "usd"
    initial_available: int = DEFAULT_AVAILABLE
    initial_pending: int = 0
    idempotency_ttl_seconds: float = 24 * 3600.0
    # A replayed key must carry the same parameters in the same order (the same encoded body),
    # stricter than Stripe's own comparison (the same parameters, any order): a retry that
    # re-encodes its parameters differently is caught here, never only in production.
    strict_replays: bool = True

    def update(self, data: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Stripe fake settings: {', '.join(sorted(unknown))}")
        for key, value in data.items():
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
