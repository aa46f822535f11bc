"""``nerava-ops kill-switches list|set`` and ``payouts list|reconcile`` against the payments
app over real HTTP, through a gateway-style admin prefix."""

from __future__ import annotations

import json
import uuid

import httpx
from common.auth_dependencies import install_jwt_verifier
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from payments.main import create_app

from tests.fakes.stripe.control import StripeControl
from tests.integration.messaging.test_ops_cli import gateway_prefix
from tests.support.http_server import serve
from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys
from tests.support.ops_cli import run_cli
from tests.support.payments_service import PaymentsClient, SettingsFactory
from tests.support.payouts import admin_payout, post_payout, ready_driver
from tests.support.polling import eventually


async def test_list_and_set_with_confirmation(payments_settings: SettingsFactory) -> None:
    keys = TestSigningKeys()
    app = create_app(payments_settings())
    admin = uuid.uuid4()
    async with serve(gateway_prefix("payments", app), lifespan="on") as server:
        base = server.url
        install_jwt_verifier(
            app, JwtVerifier(StaticJwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE)
        )
        env = {"NERAVA_API": base, "NERAVA_TOKEN": keys.mint(sub=str(admin), role="admin")}
        code, stdout, _ = await run_cli(["kill-switches", "list", "--json"], env)
        assert code == 0
        names = {i["name"] for i in json.loads(stdout)["items"]}
        assert "NOVA_REDEEM_ENABLED" in names
        args = ["kill-switches", "set", "PAYOUTS_ENABLED", "off", "--reason", "bank down"]
        code, _, _ = await run_cli(args, env)  # no confirmation on stdin: aborted
        assert code == 1
        code, stdout, _ = await run_cli([*args, "--yes", "--json"], env)
        assert code == 0, stdout
        assert json.loads(stdout)["updated_by"] == str(admin)
        code, stdout, _ = await run_cli(["kill-switches", "list"], env)
        assert "bank down" in stdout
        code, _, _ = await run_cli(
            ["kill-switches", "set", "PAYOUTS_ENABLED", "on", "--reason", "ok", "--yes"], env
        )
        assert code == 0
        driver_env = {**env, "NERAVA_TOKEN": keys.mint(role="driver")}
        code, _, stderr = await run_cli(["kill-switches", "list"], driver_env)
        assert code == 1 and "403" in stderr


async def test_payouts_list_and_reconcile(
    payments_settings: SettingsFactory, fake_stripe: StripeControl
) -> None:
    """``nerava-ops payouts list --status unknown`` and ``payouts reconcile ID``."""
    keys = TestSigningKeys()
    app = create_app(payments_settings())
    async with serve(gateway_prefix("payments", app), lifespan="on") as server:
        install_jwt_verifier(
            app, JwtVerifier(StaticJwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE)
        )
        async with httpx.AsyncClient(base_url=server.url) as http:
            payments = PaymentsClient(http, app, keys)
            driver, _ = await ready_driver(payments, fake_stripe, nova=500)
            await fake_stripe.fail_next("transfers.create", status=500, times=None, cache=True)
            resp = await post_payout(payments, driver, 200)
            payout_id = resp.json()["payout_id"]
            await eventually(
                lambda: _status(payments, payout_id, "unknown"), timeout=20, what="unknown"
            )
        env = {"NERAVA_API": server.url, "NERAVA_TOKEN": keys.mint(role="admin")}
        code, stdout, _ = await run_cli(["payouts", "list", "--status", "unknown", "--json"], env)
        assert code == 0, stdout
        assert payout_id in {p["payout_id"] for p in json.loads(stdout)["items"]}
        code, stdout, _ = await run_cli(["payouts", "list", "--status", "unknown"], env)
        assert code == 0 and "payouts (" in stdout
        code, stdout, _ = await run_cli(["payouts", "reconcile", payout_id, "--json"], env)
        assert code == 0, stdout
        result = json.loads(stdout)
        assert result["payment_id"] == payout_id and result["status"] == "unknown"
        assert set(result) >= {
            "stripe_transfer_id",
            "stripe_status",
            "error_code",
            "error_message",
            "reconciled_at",
            "no_transfer_confirmed",
        }
        code, _, stderr = await run_cli(["payouts", "reconcile", str(uuid.uuid4())], env)
        assert code == 1 and "payout_not_found" in stderr
        code, _, _ = await run_cli(["payouts", "list", "--status", "lost"], env)
        assert code == 2


async def _status(payments: PaymentsClient, payout_id: str, status: str) -> bool:
    return (await admin_payout(payments, payout_id))["status"] == status
