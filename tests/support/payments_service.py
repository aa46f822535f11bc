"""The payments service in-process for tests: settings, the running app, what tests read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from common.auth_dependencies import install_jwt_verifier
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from fastapi import FastAPI
from payments import ledger_repository, projections
from payments.deps import Hooks, PaymentsDeps
from payments.ledger import GRANTS_ISSUANCE, JournalKind, driver_wallet, transfer
from payments.main import create_app
from payments.projections import MerchantView
from payments.settings import PaymentsSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.stripe.control import StripeControl
from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys

SettingsFactory = Callable[..., PaymentsSettings]


def stripe_settings(fake_stripe: StripeControl) -> dict[str, Any]:
    """Payments' Stripe settings pointing the real SDK at the fake Stripe."""
    return {
        "stripe_secret_key": fake_stripe.api_key,
        "stripe_api_base": fake_stripe.url,
        "stripe_webhook_secrets": [fake_stripe.webhook_secret],
        "stripe_timeout_seconds": 2.0,
        "stripe_connect_timeout_seconds": 1.0,
    }


class PaymentsClient:
    def __init__(self, http: httpx.AsyncClient, app: FastAPI, keys: TestSigningKeys) -> None:
        self.http = http
        self.app = app
        self.keys = keys

    @property
    def deps(self) -> PaymentsDeps:
        deps: PaymentsDeps = self.app.state.deps
        return deps

    def token(self, user_id: uuid.UUID, role: str = "driver") -> str:
        return self.keys.mint(sub=str(user_id), role=role)

    def headers(
        self, user_id: uuid.UUID, role: str = "driver", key: str | None = None
    ) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(user_id, role)}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def redeem(
        self, driver: uuid.UUID, merchant: uuid.UUID, nova: Any, *, key: str | None = None
    ) -> httpx.Response:
        return await self.http.post(
            "/v1/wallet/redemptions",
            json={"merchant_id": str(merchant), "nova": nova},
            headers=self.headers(driver, key=key or new_key()),
        )

    async def grant(
        self, admin: uuid.UUID, body: dict[str, Any], *, key: str | None = None
    ) -> httpx.Response:
        return await self.http.post(
            "/v1/admin/grants", json=body, headers=self.headers(admin, "admin", key or new_key())
        )

    async def balance(self, driver: uuid.UUID) -> int:
        resp = await self.http.get("/v1/wallet", headers=self.headers(driver))
        assert resp.status_code == 200, resp.text
        return int(resp.json()["balance"])

    async def set_switch(self, name: str, enabled: bool, reason: str = "test") -> httpx.Response:
        return await self.http.put(
            "/v1/admin/kill-switches",
            json={"name": name, "enabled": enabled, "reason": reason},
            headers=self.headers(uuid.uuid4(), "admin"),
        )

    async def add_merchant(self, *, active: bool = True, reward_nova: int = 10) -> uuid.UUID:
        merchant_id = uuid.uuid4()
        async with self.deps.uow() as tx:
            await projections.upsert_merchant(
                tx,
                MerchantView(
                    merchant_id=merchant_id,
                    owner_user_id=uuid.uuid4(),
                    name="Cafe",
                    billing_amount_minor=250,
                    currency="usd",
                    reward_nova=reward_nova,
                    active=active,
                ),
                datetime.now(UTC),
            )
        return merchant_id

    async def add_driver(self, nova: int = 0) -> uuid.UUID:
        driver_id = uuid.uuid4()
        async with self.deps.uow() as tx:
            await projections.record_driver(tx, driver_id)
            if nova:
                await ledger_repository.post(
                    tx,
                    transfer(
                        JournalKind.GRANT,
                        f"test-funding:{driver_id}",
                        source=GRANTS_ISSUANCE,
                        destination=driver_wallet(driver_id),
                        amount=nova,
                        actor_type="test",
                        actor_id="fixture",
                    ),
                )
        return driver_id


def new_key() -> str:
    return f"test-{uuid.uuid4().hex}"


@asynccontextmanager
async def running(
    settings: PaymentsSettings, keys: TestSigningKeys
) -> AsyncIterator[PaymentsClient]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=60) as manager:
        install_jwt_verifier(
            app, JwtVerifier(StaticJwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE)
        )
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://payments") as http:
            yield PaymentsClient(http, app, keys)


async def reset_switches(client: PaymentsClient) -> None:
    for name, enabled in (
        ("BLOCK_ALL_MONEY_MOVEMENT", False),
        ("NOVA_EARN_ENABLED", True),
        ("NOVA_REDEEM_ENABLED", True),
        ("PAYOUTS_ENABLED", True),
    ):
        resp = await client.set_switch(name, enabled, "test reset")
        assert resp.status_code == 200, resp.text


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def wallet_state(db: AsyncEngine, driver: uuid.UUID) -> tuple[int, int, int, list[int]]:
    """(balance, Σ entries, version, [account_version …]) of a driver's wallet."""
    account = await scalar(
        db,
        "SELECT id FROM ledger_accounts"
        " WHERE owner_type='driver' AND owner_id=:d AND purpose='wallet'",
        d=str(driver),
    )
    balance = await scalar(db, "SELECT balance FROM ledger_accounts WHERE id=:a", a=account)
    total = await scalar(
        db, "SELECT coalesce(sum(amount),0) FROM ledger_entries WHERE account_id=:a", a=account
    )
    version = await scalar(db, "SELECT version FROM ledger_accounts WHERE id=:a", a=account)
    versions = await scalar(
        db,
        "SELECT array_agg(account_version ORDER BY account_version) FROM ledger_entries"
        " WHERE account_id=:a",
        a=account,
    )
    return int(balance), int(total), int(version), list(versions)


class BarrierHooks(Hooks):
    """Holds every use case at ``before_post`` until ``parties`` of them arrived."""

    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    async def before_post(self, kind: str) -> None:
        async with asyncio.timeout(120):  # only a guard against a hang; a loaded run is slow
            await self.barrier.wait()
