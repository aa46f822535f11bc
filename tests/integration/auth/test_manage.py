"""The operator command creates or promotes users; the new role shows in the next token."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from typing import Any

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, running, sign_in
from tests.support.isolation import RunInfra
from tests.support.samples import random_phone


async def _manage(infra: RunInfra, secrets: dict[str, str], *args: str) -> tuple[int, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        **infra.env(),
        "OTP_PROVIDER": "twilio_verify",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 31 + "1",
        "TWILIO_AUTH_TOKEN": "unused-by-the-operator-commands",
        "TWILIO_VERIFY_SERVICE_SID": "VA" + "0" * 31 + "1",
        **{k.upper(): v for k, v in secrets.items()},
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "auth.manage",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_promote_creates_an_admin_who_then_signs_in_as_admin(
    auth: AuthClient, fake_twilio: TwilioControl, infra: RunInfra, auth_secrets: dict[str, str]
) -> None:
    phone = random_phone()
    code, out = await _manage(infra, auth_secrets, "promote", "--phone", phone, "--role", "admin")
    assert code == 0, out
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    assert result["created"] is True
    tokens = await sign_in(auth, fake_twilio, phone)
    assert tokens["user"] == {
        "id": result["user_id"],
        "role": "admin",
        "phone_masked": "+1******" + phone[-4:],
    }
    resp = await auth.get("/v1/admin/otp/diagnostics", token=tokens["access_token"])
    assert resp.status_code == 200


async def test_promote_changes_an_existing_users_role_at_the_next_refresh(
    auth: AuthClient, fake_twilio: TwilioControl, infra: RunInfra, auth_secrets: dict[str, str]
) -> None:
    phone = random_phone()
    tokens = await sign_in(auth, fake_twilio, phone)
    code, out = await _manage(
        infra, auth_secrets, "promote", "--phone", phone, "--role", "merchant"
    )
    assert code == 0, out
    assert json.loads(out.strip().splitlines()[-1])["created"] is False
    refreshed = await auth.post(
        "/v1/auth/token/refresh", {"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.json()["user"]["role"] == "merchant"


async def test_bad_role_or_phone_is_refused(infra: RunInfra, auth_secrets: dict[str, str]) -> None:
    code, out = await _manage(
        infra, auth_secrets, "promote", "--phone", "+14155550100", "--role", "root"
    )
    assert code != 0
    assert "role must be one of" in out
    code, out = await _manage(infra, auth_secrets, "promote", "--phone", "12", "--role", "admin")
    assert code != 0


async def test_revoke_sessions_ends_a_users_sessions(
    auth: AuthClient, fake_twilio: TwilioControl, infra: RunInfra, auth_secrets: dict[str, str]
) -> None:
    tokens = await sign_in(auth, fake_twilio)
    code, out = await _manage(
        infra, auth_secrets, "revoke-sessions", "--user-id", tokens["user"]["id"]
    )
    assert code == 0, out
    assert json.loads(out.strip().splitlines()[-1])["revoked"] == 1
    me = await auth.get("/v1/auth/me", token=tokens["access_token"])
    assert me.json()["code"] == "session_revoked"


async def test_promote_and_rehash_during_a_lookup_key_rotation(
    auth_settings: SettingsFactory,
    fake_twilio: TwilioControl,
    infra: RunInfra,
    auth_secrets: dict[str, str],
) -> None:
    old, new = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    phone = random_phone()
    async with running(auth_settings(phone_lookup_key=old)) as auth:
        user_id = (await sign_in(auth, fake_twilio, phone))["user"]["id"]
    rotating = {
        **auth_secrets,
        "phone_lookup_key": new,
        "phone_lookup_keys_previous": json.dumps([old]),
    }
    code, out = await _manage(infra, rotating, "promote", "--phone", phone, "--role", "merchant")
    assert code == 0, out
    assert json.loads(out.strip().splitlines()[-1]) == {
        "user_id": user_id,
        "role": "merchant",
        "created": False,
    }
    code, out = await _manage(infra, rotating, "rehash-phones", "--batch-size", "50")
    assert code == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["scanned"] >= 1 and report["conflicts"] == 0, report
    code, out = await _manage(infra, auth_secrets, "rehash-phones")  # back to the run's key
    assert code == 0, out
