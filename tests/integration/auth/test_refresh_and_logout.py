"""Refresh rotation, grace for the immediate parent only, reuse detection, logout scopes."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from typing import Any

from auth.phone_crypto import generate_key_material
from sqlalchemy import text

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, end_cooldown, running, sign_in
from tests.support.problem_json import problem
from tests.support.samples import random_phone


async def _refresh(auth: AuthClient, token: str) -> Any:
    return await auth.post("/v1/auth/token/refresh", {"refresh_token": token})


async def _sql(auth: AuthClient, query: str, **params: Any) -> Any:
    async with auth.sql.begin() as conn:
        result = await conn.execute(text(query), params)
        return result.all() if result.returns_rows else result.rowcount


async def test_refresh_rotates_the_token(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    first = await sign_in(auth, fake_twilio)
    resp = await _refresh(auth, first["refresh_token"])
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["session_id"] == first["session_id"]
    assert second["user"]["id"] == first["user"]["id"]
    third = (await _refresh(auth, second["refresh_token"])).json()
    me = await auth.get("/v1/auth/me", token=third["access_token"])
    assert me.status_code == 200


async def test_refresh_answers_the_masked_phone_as_verify_does(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    first = await sign_in(auth, fake_twilio, phone)
    assert first["user"]["phone_masked"] == "+1******" + phone[-4:]
    rotated = await _refresh(auth, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["user"] == first["user"]
    grace = await _refresh(auth, first["refresh_token"])  # the same child, the same user view
    assert grace.json()["user"] == first["user"]


async def test_refresh_decrypts_the_phone_with_the_key_of_its_row(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    old_key, new_key = generate_key_material(), generate_key_material()
    before = auth_settings(
        phone_encryption_keys=json.dumps({"old": old_key}), phone_encryption_active_key_id="old"
    )
    after = auth_settings(
        phone_encryption_keys=json.dumps({"old": old_key, "new": new_key}),
        phone_encryption_active_key_id="new",
    )
    phone = random_phone()
    async with running(before) as auth:
        tokens = await sign_in(auth, fake_twilio, phone)
    async with running(after) as auth:
        resp = await _refresh(auth, tokens["refresh_token"])
        assert resp.status_code == 200, resp.text
        assert resp.json()["user"]["phone_masked"] == "+1******" + phone[-4:]
        rows = await _sql(
            auth,
            "SELECT phone_key_id FROM auth.users WHERE public_id = :uid",
            uid=uuid.UUID(tokens["user"]["id"]),
        )
        assert rows[0][0] == "old"


async def test_immediate_parent_within_grace_returns_the_same_child(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    first = await sign_in(auth, fake_twilio)
    child = (await _refresh(auth, first["refresh_token"])).json()
    again = await _refresh(auth, first["refresh_token"])
    assert again.status_code == 200, again.text
    assert again.json()["refresh_token"] == child["refresh_token"]
    # The child is still the live token.
    assert (await _refresh(auth, child["refresh_token"])).status_code == 200


async def test_concurrent_refresh_of_one_token_converges_to_one_child(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    first = await sign_in(auth, fake_twilio)
    barrier = asyncio.Barrier(6)

    async def one() -> Any:
        await barrier.wait()
        return await _refresh(auth, first["refresh_token"])

    results = await asyncio.gather(*(one() for _ in range(6)))
    assert [r.status_code for r in results] == [200] * 6, [r.text for r in results]
    assert len({r.json()["refresh_token"] for r in results}) == 1
    rows = await _sql(
        auth,
        "SELECT count(*) FROM auth.refresh_tokens WHERE session_id = :sid",
        sid=uuid.UUID(hex=first["session_id"]),
    )
    assert rows[0][0] == 2


async def test_parent_reused_after_grace_revokes_the_session(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    async with running(auth_settings(refresh_grace_seconds=0)) as auth:
        first = await sign_in(auth, fake_twilio)
        child = (await _refresh(auth, first["refresh_token"])).json()
        problem(await _refresh(auth, first["refresh_token"]), 401, "refresh_token_reused")
        # The whole family is gone: the live child and every access token of the session.
        problem(await _refresh(auth, child["refresh_token"]), 401, "session_revoked")
        me = await auth.get("/v1/auth/me", token=child["access_token"])
        problem(me, 401, "session_revoked")
        rows = await _sql(
            auth,
            "SELECT revoked_reason FROM auth.login_sessions WHERE id = :sid",
            sid=uuid.UUID(hex=first["session_id"]),
        )
        assert rows[0][0] == "refresh_token_reused"


async def test_grandparent_is_reuse_even_within_grace(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    t0 = await sign_in(auth, fake_twilio)
    t1 = (await _refresh(auth, t0["refresh_token"])).json()
    t2 = (await _refresh(auth, t1["refresh_token"])).json()
    problem(await _refresh(auth, t0["refresh_token"]), 401, "refresh_token_reused")
    problem(await _refresh(auth, t2["refresh_token"]), 401, "session_revoked")


async def test_unknown_or_malformed_token_is_401_invalid(auth: AuthClient) -> None:
    unknown = "nrt_" + secrets.token_urlsafe(32)[:43]
    problem(await _refresh(auth, unknown), 401, "refresh_token_invalid")
    problem(await _refresh(auth, "garbage"), 401, "refresh_token_invalid")
    resp = await auth.post("/v1/auth/token/refresh", {})
    problem(resp, 400, "validation_failed")


async def test_expired_session_is_401_session_expired(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    tokens = await sign_in(auth, fake_twilio)
    await _sql(
        auth,
        "UPDATE auth.login_sessions SET expires_at = now() - interval '1 second' WHERE id = :sid",
        sid=uuid.UUID(hex=tokens["session_id"]),
    )
    problem(await _refresh(auth, tokens["refresh_token"]), 401, "session_expired")


async def test_idle_refresh_token_is_401_session_expired(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    tokens = await sign_in(auth, fake_twilio)
    await _sql(
        auth,
        "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' "
        "WHERE session_id = :sid",
        sid=uuid.UUID(hex=tokens["session_id"]),
    )
    problem(await _refresh(auth, tokens["refresh_token"]), 401, "session_expired")


async def test_refresh_rate_limit_is_429(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    async with running(auth_settings(refresh_ip_burst=1)) as auth:
        tokens = await sign_in(auth, fake_twilio)
        assert (await _refresh(auth, tokens["refresh_token"])).status_code == 200
        problem(await _refresh(auth, tokens["refresh_token"]), 429, "rate_limited")


async def _three_sessions(auth: AuthClient, fake_twilio: TwilioControl) -> list[Any]:
    phone = random_phone()
    sessions = []
    for _ in range(3):
        sessions.append(await sign_in(auth, fake_twilio, phone))
        await end_cooldown(auth, phone)
    assert len({s["session_id"] for s in sessions}) == 3
    assert len({s["user"]["id"] for s in sessions}) == 1
    return sessions


async def _alive(auth: AuthClient, session: Any) -> bool:
    resp = await auth.get("/v1/auth/me", token=session["access_token"])
    if resp.status_code == 200:
        return True
    assert resp.json()["code"] == "session_revoked"
    return False


async def test_logout_local_ends_only_this_session(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    a, b, c = await _three_sessions(auth, fake_twilio)
    resp = await auth.post("/v1/auth/logout", {"scope": "local"}, token=a["access_token"])
    assert resp.status_code == 204
    assert [await _alive(auth, s) for s in (a, b, c)] == [False, True, True]
    problem(await _refresh(auth, a["refresh_token"]), 401, "session_revoked")
    assert (await _refresh(auth, b["refresh_token"])).status_code == 200


async def test_logout_others_keeps_only_this_session(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    a, b, c = await _three_sessions(auth, fake_twilio)
    resp = await auth.post("/v1/auth/logout", {"scope": "others"}, token=a["access_token"])
    assert resp.status_code == 204
    assert [await _alive(auth, s) for s in (a, b, c)] == [True, False, False]
    problem(await _refresh(auth, c["refresh_token"]), 401, "session_revoked")


async def test_logout_global_ends_every_session(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    a, b, c = await _three_sessions(auth, fake_twilio)
    resp = await auth.post("/v1/auth/logout", {"scope": "global"}, token=b["access_token"])
    assert resp.status_code == 204
    assert [await _alive(auth, s) for s in (a, b, c)] == [False, False, False]


async def test_logout_without_a_token_is_401(auth: AuthClient) -> None:
    problem(await auth.post("/v1/auth/logout", {"scope": "local"}), 401, "token_missing")


async def test_logout_with_redis_down_is_503_and_changes_nothing(
    auth_settings: SettingsFactory, auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    tokens = await sign_in(auth, fake_twilio)
    broken = auth_settings(redis_url="redis://127.0.0.1:1/0")
    async with running(broken) as other:
        resp = await other.post("/v1/auth/logout", {"scope": "local"}, token=tokens["access_token"])
        assert resp.status_code == 503
    assert (await _refresh(auth, tokens["refresh_token"])).status_code == 200


async def test_admin_can_end_a_users_sessions(auth: AuthClient, fake_twilio: TwilioControl) -> None:
    admin_phone = random_phone()
    await auth.make_user(admin_phone, "admin")
    admin = await sign_in(auth, fake_twilio, admin_phone)
    driver = await sign_in(auth, fake_twilio)
    path = f"/v1/admin/users/{driver['user']['id']}/sessions/revoke"
    problem(await auth.post(path, token=driver["access_token"]), 403, "insufficient_scope")
    resp = await auth.post(path, token=admin["access_token"])
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"revoked": 1}
    assert not await _alive(auth, driver)
