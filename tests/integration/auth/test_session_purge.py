"""The purge of long-dead login sessions, against real Postgres: what goes, what stays, what a
client then hears, two replicas at once, and rounds that fail."""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from auth.session_purge import PurgeConfig, PurgeMetrics, SessionPurger, purge_batch
from common.database import Database, make_engine, make_session_factory
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from tests.fakes.twilio.control import TwilioControl
from tests.integration.auth.conftest import (
    AuthClient,
    SettingsFactory,
    problem,
    random_phone,
    running,
    sign_in,
)

RETENTION = timedelta(days=30)


@pytest.fixture
async def auth(auth_settings: SettingsFactory) -> AsyncIterator[AuthClient]:
    """An app whose background purge is off: these tests run rounds themselves."""
    async with running(auth_settings(session_purge_enabled=False)) as client:
        yield client


def _purger(auth: AuthClient, *, batch_size: int = 200, interval: float = 3600) -> SessionPurger:
    return SessionPurger(auth.deps.database, PurgeConfig(RETENTION, interval, batch_size))


async def _sql(auth: AuthClient, query: str, **params: Any) -> Any:
    async with auth.deps.database.engine.begin() as conn:
        result = await conn.execute(text(query), params)
        return result.all() if result.returns_rows else result.rowcount


async def _backdate(auth: AuthClient, session: Any, column: str, days: int) -> None:
    await _sql(
        auth,
        f"UPDATE auth.login_sessions SET {column} = now() - make_interval(days => :days) "
        "WHERE id = :sid",
        days=days,
        sid=uuid.UUID(hex=session["session_id"]),
    )


async def _counts(auth: AuthClient, session: Any) -> tuple[int, int]:
    """(sessions, refresh tokens) left of one session."""
    sid = uuid.UUID(hex=session["session_id"])
    rows = await _sql(
        auth,
        "SELECT (SELECT count(*) FROM auth.login_sessions WHERE id = :sid), "
        "(SELECT count(*) FROM auth.refresh_tokens WHERE session_id = :sid)",
        sid=sid,
    )
    return int(rows[0][0]), int(rows[0][1])


async def _refresh(auth: AuthClient, token: str) -> Any:
    return await auth.post("/v1/auth/token/refresh", {"refresh_token": token})


async def _seed_dead_sessions(auth: AuthClient, sessions: int, chain: int) -> set[uuid.UUID]:
    """``sessions`` sessions of one user that expired 40 days ago, each with a rotated chain
    of ``chain`` refresh tokens."""
    phone = random_phone()
    await auth.make_user(phone, "driver")
    phone_hash = auth.deps.phones.lookup_hash(phone)
    ids: set[uuid.UUID] = set()
    async with auth.deps.database.engine.begin() as conn:
        found = await conn.execute(
            text("SELECT id FROM auth.users WHERE phone_hash = :h"), {"h": phone_hash}
        )
        user_id = found.scalar_one()
        for _ in range(sessions):
            sid = uuid.uuid4()
            ids.add(sid)
            await conn.execute(
                text(
                    "INSERT INTO auth.login_sessions "
                    "(id, user_id, created_at, last_refreshed_at, expires_at) "
                    "VALUES (:sid, :uid, now() - interval '130 days', "
                    "now() - interval '45 days', now() - interval '40 days')"
                ),
                {"sid": sid, "uid": user_id},
            )
            parent = None
            for _ in range(chain):
                parent = (
                    await conn.execute(
                        text(
                            "INSERT INTO auth.refresh_tokens "
                            "(session_id, token_hash, parent_id, created_at, expires_at) "
                            "VALUES (:sid, :hash, :parent, now() - interval '50 days', "
                            "now() - interval '20 days') RETURNING id"
                        ),
                        {"sid": sid, "hash": secrets.token_bytes(32), "parent": parent},
                    )
                ).scalar_one()
    return ids


async def _left(auth: AuthClient, ids: set[uuid.UUID]) -> int:
    rows = await _sql(
        auth,
        "SELECT count(*) FROM auth.login_sessions WHERE id = ANY(:ids)",
        ids=list(ids),
    )
    return int(rows[0][0])


async def test_long_dead_sessions_go_live_and_recently_dead_ones_stay(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    live = await sign_in(auth, fake_twilio)
    rotated = await sign_in(auth, fake_twilio)
    rotated = (await _refresh(auth, rotated["refresh_token"])).json()
    rotated = (await _refresh(auth, rotated["refresh_token"])).json()
    expired_old = await sign_in(auth, fake_twilio)
    expired_old_child = (await _refresh(auth, expired_old["refresh_token"])).json()
    await _backdate(auth, expired_old, "expires_at", 31)
    revoked_old = await sign_in(auth, fake_twilio)
    await auth.post("/v1/auth/logout", {"scope": "local"}, token=revoked_old["access_token"])
    await _backdate(auth, revoked_old, "revoked_at", 31)
    expired_recent = await sign_in(auth, fake_twilio)
    await _backdate(auth, expired_recent, "expires_at", 29)
    revoked_recent = await sign_in(auth, fake_twilio)
    await auth.post("/v1/auth/logout", {"scope": "local"}, token=revoked_recent["access_token"])
    await _backdate(auth, revoked_recent, "revoked_at", 29)

    done = await _purger(auth).purge_once()

    assert done.sessions >= 2 and done.tokens >= 3, done
    assert await _counts(auth, expired_old) == (0, 0)
    assert await _counts(auth, revoked_old) == (0, 0)
    assert await _counts(auth, live) == (1, 1)
    assert await _counts(auth, rotated) == (1, 3)
    assert await _counts(auth, expired_recent) == (1, 1)
    assert await _counts(auth, revoked_recent) == (1, 1)
    # What clients hear: recently dead sessions keep their specific answers.
    assert (await _refresh(auth, live["refresh_token"])).status_code == 200
    assert (await _refresh(auth, rotated["refresh_token"])).status_code == 200
    problem(await _refresh(auth, expired_recent["refresh_token"]), 401, "session_expired")
    problem(await _refresh(auth, revoked_recent["refresh_token"]), 401, "session_revoked")
    for gone in (expired_old["refresh_token"], expired_old_child["refresh_token"]):
        problem(await _refresh(auth, gone), 401, "refresh_token_invalid")
    problem(await _refresh(auth, revoked_old["refresh_token"]), 401, "refresh_token_invalid")


async def test_a_reused_token_keeps_its_answer_until_the_retention_ends(
    auth_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    settings = auth_settings(refresh_grace_seconds=0, session_purge_enabled=False)
    async with running(settings) as auth:
        first = await sign_in(auth, fake_twilio)
        child = (await _refresh(auth, first["refresh_token"])).json()
        problem(await _refresh(auth, first["refresh_token"]), 401, "refresh_token_reused")
        await _backdate(auth, first, "revoked_at", 29)

        await _purger(auth).purge_once()
        problem(await _refresh(auth, first["refresh_token"]), 401, "session_revoked")
        problem(await _refresh(auth, child["refresh_token"]), 401, "session_revoked")

        await _backdate(auth, first, "revoked_at", 31)
        await _purger(auth).purge_once()
        assert await _counts(auth, first) == (0, 0)
        problem(await _refresh(auth, first["refresh_token"]), 401, "refresh_token_invalid")


async def test_a_second_purge_skips_the_batch_a_first_one_holds(auth: AuthClient) -> None:
    await _purger(auth).purge_once()  # leftovers of other tests
    seeded = await _seed_dead_sessions(auth, sessions=20, chain=3)
    engine = auth.deps.database.engine
    async with engine.connect() as first_conn:
        first_tx = await first_conn.begin()
        first = await purge_batch(first_conn, retention=RETENTION, limit=10)
        # The first batch is deleted but not committed: its rows stay locked.
        async with engine.connect() as second_conn, second_conn.begin():
            async with asyncio.timeout(5):
                second = await purge_batch(second_conn, retention=RETENTION, limit=10)
        await first_tx.commit()
    assert len(first.session_ids) == 10 and len(second.session_ids) == 10
    assert not set(first.session_ids) & set(second.session_ids)
    assert set(first.session_ids) | set(second.session_ids) == seeded
    assert first.tokens == second.tokens == 30
    assert await _left(auth, seeded) == 0


async def test_two_purges_at_once_delete_every_session_exactly_once(auth: AuthClient) -> None:
    await _purger(auth).purge_once()  # leftovers of other tests
    seeded = await _seed_dead_sessions(auth, sessions=60, chain=3)
    barrier = asyncio.Barrier(2)

    async def replica() -> Any:
        purger = _purger(auth, batch_size=7)
        await barrier.wait()
        return await purger.purge_once()

    one, two = await asyncio.gather(replica(), replica())
    assert one.sessions + two.sessions == 60, (one, two)
    assert one.tokens + two.tokens == 180, (one, two)
    assert one.sessions > 0 and two.sessions > 0, (one, two)
    assert await _left(auth, seeded) == 0


async def test_the_service_purges_in_the_background_and_counts_it(
    auth_settings: SettingsFactory,
) -> None:
    settings = auth_settings(session_purge_interval_seconds=1)
    async with running(settings) as auth:
        seeded = await _seed_dead_sessions(auth, sessions=3, chain=2)
        async with asyncio.timeout(20):
            while True:
                if not await _left(auth, seeded):
                    break
                await asyncio.sleep(0.1)
        metrics = (await auth.get("/metrics")).text
    counted = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("auth_session_purge_sessions_total ")
    ]
    assert counted and counted[0] >= 3, metrics
    assert 'auth_session_purge_rounds_total{outcome="ok"}' in metrics


async def _until(registry: CollectorRegistry, outcome: str, count: int) -> None:
    """Waits until ``count`` rounds ended with ``outcome``."""

    def rounds() -> float:
        value = registry.get_sample_value("auth_session_purge_rounds_total", {"outcome": outcome})
        return value or 0.0

    async with asyncio.timeout(20):
        while True:
            if rounds() >= count:
                return
            await asyncio.sleep(0.05)


async def test_a_failed_round_is_a_warning_and_the_next_round_purges(
    auth: AuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = await _seed_dead_sessions(auth, sessions=3, chain=1)
    registry = CollectorRegistry()
    purger = SessionPurger(
        auth.deps.database,
        PurgeConfig(RETENTION, interval_seconds=0.1, batch_size=200),
        PurgeMetrics(registry),
    )
    caplog.set_level(logging.WARNING, logger="auth.session_purge")
    async with auth.deps.database.engine.connect() as blocker:
        tx = await blocker.begin()
        await blocker.execute(text("LOCK TABLE auth.login_sessions IN ACCESS EXCLUSIVE MODE"))
        await purger.start()
        try:
            await _until(registry, "failed", 1)
            await tx.rollback()
            await _until(registry, "ok", 1)
        finally:
            await purger.stop()
    assert await _left(auth, seeded) == 0
    warnings = [r for r in caplog.records if r.getMessage().startswith("session purge failed")]
    assert warnings and warnings[0].levelno == logging.WARNING


async def test_the_loop_survives_postgres_being_unreachable(
    auth_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = auth_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nerava")
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    registry = CollectorRegistry()
    purger = SessionPurger(
        Database(engine=engine, sessions=make_session_factory(engine)),
        PurgeConfig(RETENTION, interval_seconds=0.05, batch_size=200),
        PurgeMetrics(registry),
    )
    caplog.set_level(logging.WARNING, logger="auth.session_purge")
    await purger.start()
    try:
        await _until(registry, "failed", 3)
    finally:
        await purger.stop()
        await engine.dispose()
    warnings = [r for r in caplog.records if r.getMessage().startswith("session purge failed")]
    assert len(warnings) >= 3
