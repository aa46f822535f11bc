"""Rotating REFRESH_TOKEN_PEPPER and PHONE_LOOKUP_KEY without signing anyone out or orphaning
anyone: restart with the new value current and the old one previous, then drop the old one."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from typing import Any

from auth.phone_rehash import rehash_phones
from auth.session_handlers import open_session
from sqlalchemy import text

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, end_cooldown, running, sign_in
from tests.support.problem_json import problem
from tests.support.samples import random_phone


def _secret() -> str:
    return secrets.token_urlsafe(48)


async def _sql(auth: AuthClient, query: str, **params: Any) -> Any:
    async with auth.sql.begin() as conn:
        result = await conn.execute(text(query), params)
        return result.all() if result.returns_rows else result.rowcount


async def _refresh(auth: AuthClient, token: str) -> Any:
    return await auth.post("/v1/auth/token/refresh", {"refresh_token": token})


async def _sign_in_again(auth: AuthClient, fake_twilio: TwilioControl, phone: str) -> Any:
    """Signs ``phone`` in again, past its resend cooldown."""
    await end_cooldown(auth, phone)
    return await sign_in(auth, fake_twilio, phone)


def _lookup_hash(key: str, phone: str) -> bytes:
    return hmac.new(key.encode(), phone.encode(), hashlib.sha256).digest()


async def _users_of(auth: AuthClient, phone: str, *keys: str) -> list[Any]:
    return list(
        await _sql(
            auth,
            "SELECT public_id, phone_hash FROM auth.users WHERE phone_hash = ANY(:hashes)",
            hashes=[_lookup_hash(key, phone) for key in keys],
        )
    )


# ---------------------------------------------------------------- PHONE_LOOKUP_KEY


async def test_a_phone_signs_in_to_the_same_user_through_a_lookup_key_rotation(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    old, new = _secret(), _secret()
    phone = random_phone()
    async with running(auth_settings(phone_lookup_key=old)) as auth:
        before = await sign_in(auth, fake_twilio, phone)

    rotating = auth_settings(phone_lookup_key=new, phone_lookup_keys_previous=[old])
    async with running(rotating) as auth:
        during = await sign_in(auth, fake_twilio, phone)
        assert during["user"] == before["user"]
        users = await _users_of(auth, phone, old, new)
        assert len(users) == 1
        assert str(users[0].public_id) == before["user"]["id"]
        assert bytes(users[0].phone_hash) == _lookup_hash(new, phone)  # upgraded

    async with running(auth_settings(phone_lookup_key=new)) as auth:  # old key dropped
        after = await _sign_in_again(auth, fake_twilio, phone)
        assert after["user"] == before["user"]
        assert len(await _users_of(auth, phone, old, new)) == 1


async def test_the_rehash_command_moves_users_who_did_not_sign_in(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    old, new = _secret(), _secret()
    phones = [random_phone() for _ in range(3)]
    async with running(auth_settings(phone_lookup_key=old)) as auth:
        ids = [(await sign_in(auth, fake_twilio, phone))["user"]["id"] for phone in phones]

    async with running(
        auth_settings(phone_lookup_key=new, phone_lookup_keys_previous=[old])
    ) as auth:
        report = await rehash_phones(auth.deps, batch_size=2)
        assert report.rehashed >= 3 and report.conflicts == 0
        for phone in phones:
            users = await _users_of(auth, phone, old, new)
            assert [bytes(u.phone_hash) for u in users] == [_lookup_hash(new, phone)]
        again = await rehash_phones(auth.deps)
        assert again.rehashed == 0

    async with running(auth_settings(phone_lookup_key=new)) as auth:
        for phone, user_id in zip(phones, ids, strict=True):
            assert (await sign_in(auth, fake_twilio, phone))["user"]["id"] == user_id

    async with running(auth_settings()) as auth:  # the run's other users back on its own key
        await rehash_phones(auth.deps)


async def _open_sessions_at_once(apps: list[AuthClient], phone: str) -> list[Any]:
    """Each app opens a session for ``phone`` at the same moment (a verified code each)."""
    barrier = asyncio.Barrier(len(apps))

    async def one(auth: AuthClient) -> Any:
        phones = auth.deps.phones
        encrypted = phones.encrypt(phone)
        await barrier.wait()
        return await open_session(
            auth.deps,
            phone_hash=phones.lookup_hash(phone),
            encrypted_phone=encrypted,
            phone_masked="+1******" + phone[-4:],
        )

    return list(await asyncio.gather(*(one(auth) for auth in apps)))


async def test_concurrent_first_sign_ins_during_a_rolling_rotation_make_one_account(
    auth_settings: SettingsFactory,
) -> None:
    """Replicas mid-deploy disagree on the current key; a new phone still gets one account."""
    old, new = _secret(), _secret()
    replica_a = auth_settings(phone_lookup_key=old, phone_lookup_keys_previous=[new])
    replica_b = auth_settings(phone_lookup_key=new, phone_lookup_keys_previous=[old])
    async with running(replica_a) as a, running(replica_b) as b:
        for _ in range(5):
            phone = random_phone()
            signed = await _open_sessions_at_once([a, b, a, b], phone)
            assert len({s.user.id for s in signed}) == 1, [s.user.id for s in signed]
            assert len(await _users_of(a, phone, old, new)) == 1


async def test_concurrent_sign_ins_of_a_user_stored_under_the_old_key_find_it(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    old, new = _secret(), _secret()
    phone = random_phone()
    async with running(auth_settings(phone_lookup_key=old)) as auth:
        before = await sign_in(auth, fake_twilio, phone)
    rotating = auth_settings(phone_lookup_key=new, phone_lookup_keys_previous=[old])
    async with running(rotating) as a, running(rotating) as b:
        signed = await _open_sessions_at_once([a, b, a, b], phone)
        assert {str(s.user.id) for s in signed} == {before["user"]["id"]}
        assert len(await _users_of(a, phone, old, new)) == 1


# ---------------------------------------------------------------- REFRESH_TOKEN_PEPPER


async def _token_hash(auth: AuthClient, session_id: str) -> list[bytes]:
    rows = await _sql(
        auth,
        "SELECT token_hash FROM auth.refresh_tokens WHERE session_id = :sid ORDER BY id",
        sid=uuid.UUID(hex=session_id),
    )
    return [bytes(row[0]) for row in rows]


async def test_refresh_tokens_keep_working_through_a_pepper_rotation(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    old, new = _secret(), _secret()
    async with running(auth_settings(refresh_token_pepper=old)) as auth:
        t0 = await sign_in(auth, fake_twilio)
        t1 = (await _refresh(auth, t0["refresh_token"])).json()

    rotating = auth_settings(refresh_token_pepper=new, refresh_token_peppers_previous=[old])
    async with running(rotating) as auth:
        resp = await _refresh(auth, t1["refresh_token"])
        assert resp.status_code == 200, resp.text
        t2 = resp.json()
        assert t2["session_id"] == t0["session_id"] and t2["user"] == t0["user"]
        codec = auth.deps.refresh_codec
        hashes = await _token_hash(auth, t0["session_id"])
        # t0 is untouched (stored under the old pepper); t1 moved to the new one; t2 is new.
        assert hashes[1:] == [codec.digest(t1["refresh_token"]), codec.digest(t2["refresh_token"])]

    async with running(auth_settings(refresh_token_pepper=new)) as auth:  # old pepper dropped
        t3 = await _refresh(auth, t2["refresh_token"])
        assert t3.status_code == 200, t3.text
        # t1 was moved to the new pepper, so its reuse is still detected.
        problem(await _refresh(auth, t1["refresh_token"]), 401, "refresh_token_reused")
        problem(await _refresh(auth, t3.json()["refresh_token"]), 401, "session_revoked")


async def test_grace_and_reuse_span_a_pepper_rotation(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    old, new = _secret(), _secret()
    async with running(auth_settings(refresh_token_pepper=old)) as auth:
        graced = await sign_in(auth, fake_twilio)
        graced_child = (await _refresh(auth, graced["refresh_token"])).json()
        reused = await sign_in(auth, fake_twilio)
        reused_child = (await _refresh(auth, reused["refresh_token"])).json()
        (await _refresh(auth, reused_child["refresh_token"])).json()

    rotating = auth_settings(refresh_token_pepper=new, refresh_token_peppers_previous=[old])
    async with running(rotating) as auth:
        # The immediate parent within grace: the very child issued under the old pepper.
        again = await _refresh(auth, graced["refresh_token"])
        assert again.status_code == 200, again.text
        assert again.json()["refresh_token"] == graced_child["refresh_token"]
        assert (await _refresh(auth, graced_child["refresh_token"])).status_code == 200
        # A grandparent stored under the old pepper is still recognised as reuse.
        problem(await _refresh(auth, reused["refresh_token"]), 401, "refresh_token_reused")


async def test_concurrent_refreshes_of_an_old_pepper_token_converge(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    old, new = _secret(), _secret()
    async with running(auth_settings(refresh_token_pepper=old)) as auth:
        tokens = await sign_in(auth, fake_twilio)
    rotating = auth_settings(refresh_token_pepper=new, refresh_token_peppers_previous=[old])
    async with running(rotating) as auth:
        barrier = asyncio.Barrier(6)

        async def one() -> Any:
            await barrier.wait()
            return await _refresh(auth, tokens["refresh_token"])

        results = await asyncio.gather(*(one() for _ in range(6)))
        assert [r.status_code for r in results] == [200] * 6, [r.text for r in results]
        assert len({r.json()["refresh_token"] for r in results}) == 1
        assert len(await _token_hash(auth, tokens["session_id"])) == 2


async def test_replicas_mid_deploy_share_one_session(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    old, new = _secret(), _secret()
    replica_a = auth_settings(refresh_token_pepper=old, refresh_token_peppers_previous=[new])
    replica_b = auth_settings(refresh_token_pepper=new, refresh_token_peppers_previous=[old])
    async with running(replica_a) as a, running(replica_b) as b:
        token = (await sign_in(a, fake_twilio))["refresh_token"]
        for replica in (b, a, b, b, a):
            resp = await _refresh(replica, token)
            assert resp.status_code == 200, resp.text
            token = resp.json()["refresh_token"]
