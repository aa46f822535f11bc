"""The real payments app mounts the dead-letters API admin-only, verifying tokens with the
auth JWKS over HTTP (here served by a stand-in on a loopback port)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from payments.main import create_app
from payments.settings import PaymentsSettings

from tests.integration.messaging.service_app import serving
from tests.support.http_server import serve
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys


async def test_payments_dead_letters_are_admin_only(infra: RunInfra) -> None:
    keys = TestSigningKeys()
    jwks = FastAPI()

    @jwks.get("/v1/auth/jwks.json")
    async def document() -> dict[str, Any]:
        return keys.jwks()

    async with serve(jwks, lifespan="on") as jwks_server:
        settings = PaymentsSettings(
            env="test",  # type: ignore[arg-type]
            database_url=infra.database_url,
            rabbitmq_url=infra.rabbitmq_url,
            redis_url=infra.redis_url,
            redis_key_prefix=infra.redis_prefix,
            stripe_secret_key="sk_test_local",  # type: ignore[arg-type]
            stripe_webhook_secrets=["whsec_local_fake_stripe_webhook_secret_0001"],  # type: ignore[list-item]
            jwks_url=f"{jwks_server.url}/v1/auth/jwks.json",
            jwt_issuer=ISSUER,
            jwt_audience=AUDIENCE,
        )
        async with serving(create_app(settings)) as client:
            url = "/v1/admin/dead-letters"
            anonymous = await client.get(url)
            assert anonymous.status_code == 401
            driver = await client.get(
                url, headers={"Authorization": f"Bearer {keys.mint(role='driver')}"}
            )
            assert driver.status_code == 403
            admin = await client.get(
                url, headers={"Authorization": f"Bearer {keys.mint(role='admin')}"}
            )
            assert admin.status_code == 200, admin.text
            body = admin.json()
            assert body["limit"] == 50 and body["offset"] == 0
            assert body["total"] == len(body["items"])  # other tests may have parked some
