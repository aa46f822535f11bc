"""``StripeControl``: the test-side handle on a fake Stripe (admin API + SDK client factory)."""

from __future__ import annotations

from typing import Any

import aiohttp
import stripe

from tests.fakes.core.control import AdminError, FakeControl
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

    async def hang(
        self,
        endpoint: str = "*",
        *,
        seconds: float = 30.0,
        times: int | None = None,
        match: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Hold every call of ``endpoint`` (``times=None``: until reset; ``match``: only calls
        with these form parameters, e.g. ``{"metadata[payout_id]": ...}``) ``seconds`` before
        it executes (a Stripe that accepts connections and answers nothing)."""
        return await self.add_latency(endpoint, seconds=seconds, times=times, match=match)

    # ---- connected accounts
    async def create_account(
        self, account_id: str | None = None, *, ready: bool = True
    ) -> dict[str, Any]:
        """Seed an Express account (``ready``: onboarded, transfers active, payouts enabled)."""
        body: dict[str, Any] = {"ready": ready}
        if account_id is not None:
            body["id"] = account_id
        account: dict[str, Any] = await self._admin("POST", "accounts", body)
        return account

    async def update_account(self, account_id: str, **changes: Any) -> dict[str, Any]:
        """Change ``payouts_enabled`` / ``charges_enabled`` / ``details_submitted`` / a capability
        status / ``currently_due``; emits ``account.updated`` when something changed."""
        account: dict[str, Any] = await self._admin(
            "POST", f"accounts/{account_id}/update", changes
        )
        return account

    async def visit_onboarding(self, link_url: str) -> str:
        """Open an account link as the driver's browser would; returns where it redirects."""
        async with self._session.get(link_url, allow_redirects=False) as resp:
            if resp.status != 302:
                raise AdminError(f"GET {link_url} -> {resp.status}: {await resp.text()}")
            return resp.headers["Location"]

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

    async def transfer_reversals(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.state())["transfer_reversals"]
        return rows

    async def customers(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.state())["customers"]
        return rows

    async def accounts(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.state())["accounts"]
        return rows

    async def idempotency_mismatches(self) -> int:
        """Replays the fake refused with 400 idempotency_error since the reset."""
        return int((await self.state())["idempotency_mismatches"])

    async def charges(self) -> list[dict[str, Any]]:
        """The PaymentIntents that actually took money (``succeeded``)."""
        return [i for i in await self.payment_intents() if i["status"] == "succeeded"]

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
        account: str | None = None,
    ) -> dict[str, Any]:
        """Build an event (``type`` + ``object``) or resend ``event_id``, POST it signed.

        ``secrets`` signs with several secrets (one ``v1`` each); ``age_seconds`` / ``timestamp``
        make the signature stale; ``times`` sends the same event repeatedly; ``account`` makes it
        a connected account's event (Connect). Returns
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
            ("account", account),
        ):
            if value is not None:
                spec[name] = value
        result: dict[str, Any] = await self._admin("POST", "webhooks/send", spec)
        return result
