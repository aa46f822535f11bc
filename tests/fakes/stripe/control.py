"""``StripeControl``: the test-side handle on a fake Stripe (admin API + SDK client factory)."""

from __future__ import annotations

from typing import Any

import aiohttp
import stripe

from tests.fakes.core.control import FakeControl
from tests.fakes.stripe.config import StripeFakeConfig


class StripeControl(FakeControl):
    def __init__(self, url: str, session: aiohttp.ClientSession, config: StripeFakeConfig) -> None:
        super().__init__(url, session)
        self.config = config

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def webhook_secret(self) -> str:
        return self.config.webhook_secret

    def client(
        self,
        http_client: stripe.HTTPClient,
        *,
        api_key: str | None = None,
        max_network_retries: int = 0,
    ) -> stripe.StripeClient:
        """A real ``stripe.StripeClient`` on ``http_client``, pointed at this fake.

        Use ``stripe.AIOHTTPClient()`` (stripe 16.1's ``HTTPXClient`` passes ``data=`` to
        httpx 0.28, a DeprecationWarning). Close it with ``await http_client.close_async()``.
        """
        return stripe.StripeClient(
            api_key or self.config.api_key,
            base_addresses={"api": self.url},
            http_client=http_client,
            max_network_retries=max_network_retries,
            stripe_version=self.config.api_version,
        )

    # ---- faults specific to Stripe
    async def decline_next(
        self,
        decline_code: str = "generic_decline",
        *,
        times: int | None = 1,
        match: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Decline the next ``times`` confirmed PaymentIntents (402 card_error)."""
        return await self.add_fault(
            kind="card_decline",
            endpoint="payment_intents.create",
            code=decline_code,
            times=times,
            match=match or {},
        )

    # ---- state
    async def set_balance(
        self,
        *,
        available: int | None = None,
        pending: int | None = None,
        currency: str | None = None,
    ) -> dict[str, Any]:
        body = {"available": available, "pending": pending, "currency": currency}
        balance: dict[str, Any] = await self._admin("POST", "balance", body)
        return balance

    async def transfers(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.state())["transfers"]
        return rows

    async def payment_intents(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.state())["payment_intents"]
        return rows

    async def events(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.state())["events"]
        return rows

    async def webhook_deliveries(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.state())["webhook_deliveries"]
        return rows

    async def send_webhook(
        self,
        type: str | None = None,
        object: dict[str, Any] | None = None,
        *,
        event_id: str | None = None,
        url: str | None = None,
        secrets: list[str] | None = None,
        timestamp: int | None = None,
        age_seconds: float | None = None,
        times: int = 1,
    ) -> dict[str, Any]:
        """Build an event (``type`` + ``object``) or resend ``event_id``, POST it signed.

        ``secrets`` signs with several secrets (one ``v1`` each); ``age_seconds`` / ``timestamp``
        make the signature stale; ``times`` sends the same event repeatedly. Returns
        ``{"event": ..., "deliveries": [{"status", "response_body", "error", "signature"...}]}``.
        """
        spec: dict[str, Any] = {"times": times}
        for name, value in (
            ("type", type),
            ("object", object),
            ("event_id", event_id),
            ("url", url),
            ("secrets", secrets),
            ("timestamp", timestamp),
            ("age_seconds", age_seconds),
        ):
            if value is not None:
                spec[name] = value
        result: dict[str, Any] = await self._admin("POST", "webhooks/send", spec)
        return result
