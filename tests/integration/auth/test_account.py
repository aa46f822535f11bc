"""Profile, consent (published through the outbox), registration event, OTP diagnostics."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, end_cooldown, running, sign_in
from tests.support.problem_json import problem
from tests.support.samples import random_phone


async def _outbox(auth: AuthClient, message_type: str, user_id: str) -> list[dict[str, Any]]:
    async with auth.sql.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT body FROM auth.outbox WHERE message_type = :t"), {"t": message_type}
            )
        ).all()
    bodies = [json.loads(bytes(row[0])) for row in rows]
    return [b for b in bodies if b["data"]["user_id"] == user_id]


async def test_first_sign_in_registers_once_and_publishes_user_registered(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    first = await sign_in(auth, fake_twilio, phone)
    await end_cooldown(auth, phone)
    second = await sign_in(auth, fake_twilio, phone)
    assert first["user"]["id"] == second["user"]["id"]
    events = await _outbox(auth, "user.registered.v1", first["user"]["id"])
    assert len(events) == 1
    assert events[0]["producer"] == "auth"
    assert events[0]["data"]["role"] == "driver"
    assert phone[1:] not in json.dumps(events[0])


async def test_phone_is_encrypted_at_rest_with_a_key_id(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    tokens = await sign_in(auth, fake_twilio, phone)
    async with auth.sql.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT phone_ciphertext, phone_key_id, phone_hash FROM auth.users "
                    "WHERE public_id = :id"
                ),
                {"id": uuid.UUID(tokens["user"]["id"])},
            )
        ).one()
    assert phone.encode() not in bytes(row[0])
    assert phone[-7:].encode() not in bytes(row[0])
    assert row[1] == "k1"
    assert bytes(row[2]) == auth.deps.phones.lookup_hash(phone)


async def test_me_shows_the_masked_phone(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    phone = random_phone()
    tokens = await sign_in(auth, fake_twilio, phone)
    me = (await auth.get("/v1/auth/me", token=tokens["access_token"])).json()
    assert me["phone_masked"] == "+1******" + phone[-4:]
    assert me["role"] == "driver"
    assert me["status"] == "active"


async def test_consent_round_trip_publishes_only_real_changes(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    tokens = await sign_in(auth, fake_twilio)
    token, user_id = tokens["access_token"], tokens["user"]["id"]
    initial = (await auth.get("/v1/account/consent", token=token)).json()
    assert initial == {
        "analytics": False,
        "marketing": False,
        "policy_version": None,
        "updated_at": None,
    }
    choice = {"analytics": True, "marketing": False, "policy_version": "2026-11"}
    resp = await auth.put("/v1/account/consent", choice, token=token)
    assert resp.status_code == 200, resp.text
    assert (await auth.put("/v1/account/consent", choice, token=token)).status_code == 200
    stored = (await auth.get("/v1/account/consent", token=token)).json()
    assert stored["analytics"] is True and stored["policy_version"] == "2026-11"
    events = await _outbox(auth, "user.consent_changed.v1", user_id)
    assert len(events) == 1
    assert events[0]["data"]["analytics"] is True
    choice["analytics"] = False
    await auth.put("/v1/account/consent", choice, token=token)
    assert len(await _outbox(auth, "user.consent_changed.v1", user_id)) == 2


async def test_bad_consent_is_400_and_changes_nothing(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    tokens = await sign_in(auth, fake_twilio)
    token = tokens["access_token"]
    bad = {"analytics": "maybe", "marketing": False, "policy_version": "v1"}
    problem(await auth.put("/v1/account/consent", bad, token=token), 400, "validation_failed")
    problem(
        await auth.put("/v1/account/consent", {"analytics": True}, token=token),
        400,
        "validation_failed",
    )
    assert (await auth.get("/v1/account/consent", token=token)).json()["analytics"] is False
    problem(await auth.get("/v1/account/consent"), 401, "token_missing")


async def test_admin_diagnostics_show_config_without_secrets(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    admin_phone = random_phone()
    await auth.make_user(admin_phone, "admin")
    admin = await sign_in(auth, fake_twilio, admin_phone)
    await fake_twilio.fail_next("verifications.create", status=503)
    problem(await auth.start(random_phone()), 503, "otp_provider_unavailable")
    resp = await auth.get("/v1/admin/otp/diagnostics", token=admin["access_token"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["provider"] == "twilio_verify"
    assert body["credentials"]["api_key_present"] is True
    assert body["verify_service_sid_prefix"] == fake_twilio.verify_service_sid[:6]
    assert body["rate_limit"]["backend"] == "redis"
    assert body["rate_limit"]["healthy"] is True
    assert body["signing_keys"] == {"active_kid": "test-auth-1", "published": ["test-auth-1"]}
    assert body["provider_errors_24h"].get("start:503", 0) >= 1
    text_body = resp.text
    for secret in (fake_twilio.config.api_key_secret, fake_twilio.verify_service_sid):
        assert secret not in text_body


async def test_diagnostics_report_whether_twilio_accepts_the_verify_service(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    for service_sid, accepted in (
        (fake_twilio.verify_service_sid, True),
        ("VA" + "e" * 32, False),
    ):
        async with running(auth_settings(twilio_verify_service_sid=service_sid)) as auth:
            # Signing in needs a working Verify service; mint the admin token directly.
            deps = auth.deps
            token = deps.keyset.sign_access_token(
                user_id=uuid.uuid4(),
                session_id=uuid.uuid4().hex,
                role="admin",
                issuer=deps.settings.jwt_issuer,
                audience=deps.settings.jwt_audience,
                ttl_seconds=60,
            ).token
            body = (await auth.get("/v1/admin/otp/diagnostics", token=token)).json()
            assert body["provider_details"]["service_accepted"] is accepted
            if not accepted:
                assert body["provider_details"]["probe_error_code"] == 20404
