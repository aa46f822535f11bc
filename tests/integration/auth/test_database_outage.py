"""Sign-in and the database: a restart of the server's connections costs no sign-in; a
database that refuses connections is a 503 ``dependency_unavailable``, never a wrong-code error,
and sign-in works again as soon as the database does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, end_cooldown, sign_in
from tests.support.isolation import PG_ADMIN_DSN, RunInfra
from tests.support.problem_json import problem
from tests.support.samples import random_phone

# Waits (up to 5 s) until each backend has exited, so no statement can race the termination.
TERMINATE = """
    SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
    WHERE datname = $1 AND application_name = 'nerava-auth' AND pid <> pg_backend_pid()
"""


async def _terminate_service_connections(database: str) -> int:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return int(await admin.fetchval(TERMINATE, database))
    finally:
        await admin.close()


@asynccontextmanager
async def refusing_connections(database: str) -> AsyncIterator[None]:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await admin.fetchval(TERMINATE, database)
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_connections_killed_by_the_server_cost_no_sign_in(
    auth: AuthClient, fake_twilio: TwilioControl, infra: RunInfra
) -> None:
    phone = random_phone()
    await sign_in(auth, fake_twilio, phone)
    assert await _terminate_service_connections(infra.database) >= 1
    await end_cooldown(auth, phone)
    again = await sign_in(auth, fake_twilio, phone)
    assert again["user"]["phone_masked"].endswith(phone[-4:])


async def test_a_database_refusing_connections_is_503_then_sign_in_recovers(
    auth: AuthClient, fake_twilio: TwilioControl, infra: RunInfra
) -> None:
    phone = random_phone()
    first = await sign_in(auth, fake_twilio, phone)
    await end_cooldown(auth, phone)
    started = await auth.start(phone)
    code = await fake_twilio.last_code_for(phone)
    async with refusing_connections(infra.database):
        resp = await auth.verify(started.json()["challenge_id"], code)
        body = problem(resp, 503, "dependency_unavailable")
        assert int(resp.headers["Retry-After"]) >= 1
        assert "code" not in body["detail"].lower()
    await end_cooldown(auth, phone)
    again = await sign_in(auth, fake_twilio, phone)
    assert again["user"]["id"] == first["user"]["id"]
