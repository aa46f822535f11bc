"""``nerava-ops kill-switches list|set`` against the payments app over real HTTP, through a
gateway-style admin prefix."""

from __future__ import annotations

import json
import uuid

from common.auth_dependencies import install_jwt_verifier
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from payments.main import create_app

from tests.integration.messaging.test_ops_cli import gateway_prefix
from tests.support.http_server import serve
from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys
from tests.support.ops_cli import run_cli
from tests.support.payments_service import SettingsFactory


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
