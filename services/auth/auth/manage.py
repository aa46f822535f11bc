"""Operator commands of the auth service (not a server; the one server entrypoint is main.py).

    python -m auth.manage promote --phone +14155550123 --role admin
    python -m auth.manage revoke-sessions --user-id <uuid>
    python -m auth.manage rehash-phones     # after a PHONE_LOOKUP_KEY rotation (README)

Configuration comes from the same environment as the service (``AuthSettings``); phones are
the identity, so ``promote`` creates the user when the number has never signed in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from common.database import Database, make_engine, make_session_factory
from common.redis_client import KeySpace, make_redis
from common.session_revocation import RevokedSessions
from messaging.outbox import Outbox
from sqlalchemy.ext.asyncio import AsyncEngine

from auth import contracts, tables
from auth import repository as repo
from auth.account_handlers import ROLES, promote_user
from auth.bootstrap import load_key_material
from auth.phone_numbers import PhoneNumberError, PhoneRegionError
from auth.phone_rehash import rehash_phones
from auth.settings import AuthSettings

app = typer.Typer(add_completion=False, help=__doc__)
logger = logging.getLogger("auth.manage")


def _database(settings: AuthSettings) -> tuple[AsyncEngine, Database]:
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    return engine, Database(engine=engine, sessions=make_session_factory(engine))


def _refuse_generated(generated: list[str]) -> None:
    if generated:
        raise typer.BadParameter(
            "configure the service's keys first (missing: " + ", ".join(generated) + ")"
        )


@app.command()
def promote(
    phone: Annotated[str, typer.Option(help="E.164 phone number of the user")],
    role: Annotated[str, typer.Option(help="driver, merchant or admin")],
) -> None:
    """Create the user of PHONE if needed and give it ROLE."""
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    settings = AuthSettings()
    keys = load_key_material(settings)
    if "PHONE_ENCRYPTION_KEYS" in keys.generated or "PHONE_LOOKUP_KEY" in keys.generated:
        _refuse_generated(keys.generated)

    async def run() -> None:
        engine, database = _database(settings)
        try:
            result = await promote_user(
                database,
                keys.phones,
                Outbox(tables.messaging.outbox, contracts.PUBLISHES),
                allowed_country_codes=list(settings.otp_allowed_country_codes),
                phone=phone,
                role=role,
            )
        finally:
            await engine.dispose()
        typer.echo(json.dumps({"user_id": str(result.id), "role": role, "created": result.created}))

    try:
        asyncio.run(run())
    except (PhoneNumberError, PhoneRegionError) as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command("revoke-sessions")
def revoke_sessions(user_id: Annotated[str, typer.Option(help="the user's UUID")]) -> None:
    """End every session of a user now (access tokens stop working within seconds)."""
    settings = AuthSettings()
    target = uuid.UUID(user_id)

    async def run() -> int:
        engine, _ = _database(settings)
        redis = make_redis(settings)
        ttl = int(settings.access_token_ttl_seconds + settings.jwt_leeway_seconds + 5)
        try:
            async with engine.begin() as conn:
                ids = await repo.active_session_ids(conn, target)
                await RevokedSessions(redis, KeySpace(settings.redis_key_prefix)).revoke(
                    [sid.hex for sid in ids], ttl_seconds=ttl
                )
                return await repo.revoke_sessions(
                    conn, ids, reason="operator_revoke", now=datetime.now(UTC)
                )
        finally:
            await redis.aclose()
            await engine.dispose()

    typer.echo(json.dumps({"user_id": user_id, "revoked": asyncio.run(run())}))


@app.command("rehash-phones")
def rehash_phones_command(
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="users per transaction")] = 500,
) -> None:
    """Rewrite every user's phone lookup hash under the current PHONE_LOOKUP_KEY."""
    settings = AuthSettings()
    keys = load_key_material(settings)
    if "PHONE_ENCRYPTION_KEYS" in keys.generated or "PHONE_LOOKUP_KEY" in keys.generated:
        _refuse_generated(keys.generated)

    async def run() -> dict[str, int]:
        engine, database = _database(settings)
        try:
            report = await rehash_phones(database, keys.phones, batch_size=batch_size)
        finally:
            await engine.dispose()
        return dataclasses.asdict(report)

    typer.echo(json.dumps(asyncio.run(run())))


if __name__ == "__main__":
    app()
