"""``nerava-ops`` through the real gateway to the real payments service: the operator path
``/v1/admin/payments/dead-letters`` (edge JWT check, admin rewrite, service JWT check)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractChannel
from fastapi import FastAPI
from payments import tables
from payments.main import create_app
from payments.settings import PaymentsSettings
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from tests.integration.messaging.queues import take
from tests.support.gateway_stack import gateway_server, gateway_settings
from tests.support.http_server import serve
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys
from tests.support.ops_cli import run_cli
from tests.support.samples import unique


async def _dead_letter(infra: RunInfra, queue: str) -> tuple[int, str]:
    engine = create_async_engine(infra.database_url)
    message_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            row = await conn.execute(
                insert(tables.messaging.failed_messages)
                .values(
                    queue=queue,
                    message_id=message_id,
                    message_type="sessions.session.completed.v1",
                    exchange="nerava.events",
                    routing_key="sessions.session.completed.v1",
                    headers={
                        "x-retry-attempt": 4,
                        "x-failure-kind": "exhausted",
                        "x-exception-type": "stripe.APIConnectionError",
                        "x-original-queue": queue,
                    },
                    body=b'{"type":"sessions.session.completed.v1","data":{}}',
                    content_type="application/json",
                    failure_kind="exhausted",
                    exception_type="stripe.APIConnectionError",
                    exception_message="connection reset",
                    fingerprint="f" * 40,
                    first_failed_at=now,
                    last_failed_at=now,
                    attempts=4,
                )
                .returning(tables.messaging.failed_messages.c.id)
            )
            return int(row.scalar_one()), message_id
    finally:
        await engine.dispose()


async def test_cli_through_gateway_lists_and_replays_a_payments_dead_letter(
    infra: RunInfra, channel: AbstractChannel
) -> None:
    keys = TestSigningKeys()
    jwks = FastAPI()

    @jwks.get("/v1/auth/jwks.json")
    async def document() -> dict[str, Any]:
        return keys.jwks()

    queue = unique("payments.cli-e2e.")
    await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
    failed_id, message_id = await _dead_letter(infra, queue)
    verify = {"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}
    async with serve(jwks, lifespan="on") as jwks_server:
        payments = PaymentsSettings(
            env="test",  # type: ignore[arg-type]
            database_url=infra.database_url,
            rabbitmq_url=infra.rabbitmq_url,
            redis_url=infra.redis_url,
            redis_key_prefix=infra.redis_prefix,
            stripe_secret_key="sk_test_local",  # type: ignore[arg-type]
            stripe_webhook_secrets=["whsec_local_fake_stripe_webhook_secret_0001"],  # type: ignore[list-item]
            jwks_url=f"{jwks_server.url}/v1/auth/jwks.json",
            **verify,
        )
        async with serve(create_app(payments), lifespan="on") as payments_server:
            gateway = gateway_settings(
                infra,
                redis_key_prefix=f"{infra.redis_prefix}:gw{uuid.uuid4().hex[:6]}",
                upstream_auth=jwks_server.url,
                upstream_sessions=jwks_server.url,
                upstream_notifications=jwks_server.url,
                upstream_payments=payments_server.url,
                jwks_url=f"{jwks_server.url}/v1/auth/jwks.json",
                **verify,
            )
            async with gateway_server(gateway) as edge:
                env = {
                    "NERAVA_API": edge.url,
                    "NERAVA_TOKEN": keys.mint(role="admin"),
                    "NERAVA_SERVICE": "payments",
                    "COLUMNS": "220",
                }
                code, stdout, stderr = await run_cli(
                    ["dead-letters", "list", "--queue", queue, "--json"], env
                )
                assert code == 0, stdout + stderr
                [item] = json.loads(stdout)["items"]
                assert item["id"] == failed_id and item["message_id"] == message_id

                code, stdout, stderr = await run_cli(
                    ["dead-letters", "replay", str(failed_id), "--yes"], env
                )
                assert code == 0, stdout + stderr
                [replayed] = await take(channel, queue, 1)
                code, stdout, _ = await run_cli(
                    ["dead-letters", "replay", str(failed_id), "--json"], env
                )
                assert json.loads(stdout)["skipped"] == 1

                driver = {**env, "NERAVA_TOKEN": keys.mint(role="driver")}
                code, _, stderr = await run_cli(["dead-letters", "list"], driver)
                assert code == 1 and "403" in stderr

    headers = dict(replayed.headers or {})
    assert replayed.message_id == message_id
    assert headers["x-replay-count"] == 1
    assert "x-retry-attempt" not in headers and "x-exception-type" not in headers
