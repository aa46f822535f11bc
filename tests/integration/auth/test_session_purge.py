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
from auth.jobs import SESSION_PURGE
from auth.session_purge import PurgeConfig, PurgeRound, purge_batch, purge_dead_sessions
from common.database import make_engine, make_session_factory
from common.periodic import PeriodicJob, run_periodic_jobs
from common.uow import UnitOfWork, UnitOfWorkFactory
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, SettingsFactory, running, sign_in
from tests.support.polling import eventually
from tests.support.problem_json import problem
from tests.support.samples import random_phone

RETENTION = timedelta(days=30)


@pytest.fixture
async def auth(auth_settings: SettingsFactory) -> AsyncIterator[AuthClient]:
    """An app whose background purge is off: these tests run rounds themselves."""
    async with running(auth_settings(session_purge_enabled=False)) as client:
        yield client


async def _purge_once(auth: AuthClient, *, batch_size: int = 200) -> PurgeRound:
    """One round of the purge on the service's unit of work."""
    return await purge_dead_sessions(auth.deps.uow, PurgeConfig(RETENTION, 3600, batch_size))


async def _sql(auth: AuthClient, query: str, **params: Any) -> Any:
    async with auth.sql.begin() as conn:
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
    async with auth.sql.begin() as conn:
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

    done = await _purge_once(auth)

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

        await _purge_once(auth)
        problem(await _refresh(auth, first["refresh_token"]), 401, "session_revoked")
        problem(await _refresh(auth, child["refresh_token"]), 401, "session_revoked")

        await _backdate(auth, first, "revoked_at", 31)
        await _purge_once(auth)
        assert await _counts(auth, first) == (0, 0)
        problem(await _refresh(auth, first["refresh_token"]), 401, "refresh_token_invalid")


async def test_a_second_purge_skips_the_batch_a_first_one_holds(auth: AuthClient) -> None:
    await _purge_once(auth)  # leftovers of other tests
    seeded = await _seed_dead_sessions(auth, sessions=20, chain=3)
    engine = auth.sql
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
    await _purge_once(auth)  # leftovers of other tests
    seeded = await _seed_dead_sessions(auth, sessions=60, chain=3)
    barrier = asyncio.Barrier(2)

    async def replica() -> Any:
        await barrier.wait()
        return await _purge_once(auth, batch_size=7)

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

        async def all_purged() -> bool:
            return not await _left(auth, seeded)

        await eventually(
            all_purged, what="the background purge of 3 sessions", timeout=20, interval=0.1
        )
        metrics = (await auth.get("/metrics")).text
    counted = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("auth_session_purge_sessions_total ")
    ]
    assert counted and counted[0] >= 3, metrics
    assert f'periodic_job_rounds_total{{job="{SESSION_PURGE}",outcome="ok"}}' in metrics


def _purge_job(uow: UnitOfWorkFactory, interval: float) -> PeriodicJob:
    config = PurgeConfig(RETENTION, interval_seconds=interval, batch_size=200)

    async def purge_round() -> int:
        return (await purge_dead_sessions(uow, config)).sessions

    return PeriodicJob(SESSION_PURGE, interval, purge_round)


def _metrics_app() -> tuple[FastAPI, CollectorRegistry]:
    app = FastAPI()
    app.state.metrics_registry = CollectorRegistry()
    return app, app.state.metrics_registry


async def _until(registry: CollectorRegistry, outcome: str, count: int) -> None:
    """Waits until ``count`` purge rounds ended with ``outcome``."""

    def rounds() -> float:
        labels = {"job": SESSION_PURGE, "outcome": outcome}
        return registry.get_sample_value("periodic_job_rounds_total", labels) or 0.0

    await eventually(lambda: rounds() >= count, what=f"{count} purge rounds {outcome}", timeout=20)


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.getMessage().startswith("periodic job round failed")
        and getattr(r, "job", None) == SESSION_PURGE
    ]


async def test_a_failed_round_is_logged_and_the_next_round_purges(
    auth: AuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = await _seed_dead_sessions(auth, sessions=3, chain=1)
    app, registry = _metrics_app()
    caplog.set_level(logging.WARNING, logger="common.periodic")
    async with auth.sql.connect() as blocker:
        tx = await blocker.begin()
        await blocker.execute(text("LOCK TABLE auth.login_sessions IN ACCESS EXCLUSIVE MODE"))
        async with run_periodic_jobs(app, [_purge_job(auth.deps.uow, interval=0.1)]):
            await _until(registry, "failed", 1)
            await tx.rollback()
            await _until(registry, "ok", 1)
    assert await _left(auth, seeded) == 0
    failures = _failures(caplog)
    assert failures and failures[0].levelno >= logging.WARNING
    # the lock timeout is an outage of the round, not a programming error
    assert failures[0].exc_info and "DependencyUnavailable" in repr(failures[0].exc_info[1])


async def test_the_loop_survives_postgres_being_unreachable(
    auth_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = auth_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nerava")
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    app, registry = _metrics_app()
    caplog.set_level(logging.WARNING, logger="common.periodic")
    uow = UnitOfWork(make_session_factory(engine))
    try:
        async with run_periodic_jobs(app, [_purge_job(uow, interval=0.05)]):
            await _until(registry, "failed", 3)
    finally:
        await engine.dispose()
    assert len(_failures(caplog)) >= 3
