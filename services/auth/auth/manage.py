"""Operator commands of the auth service (not a server; the one server entrypoint is main.py).

    python -m auth.manage promote --phone +14155550123 --role admin
    python -m auth.manage revoke-sessions --user-id <uuid>
    python -m auth.manage rehash-phones     # after a lookup-key rotation (services/auth/README.md)

Configuration comes from the same environment as the service (``AuthSettings``); phones are
the identity, so ``promote`` creates the user when the number has never signed in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from auth import bootstrap
from auth.account_handlers import ROLES, promote_user
from auth.deps import Deps
from auth.phone_numbers import PhoneNumberError, PhoneRegionError
from auth.phone_rehash import rehash_phones
from auth.session_handlers import revoke_user_sessions
from auth.settings import AuthSettings

app = typer.Typer(add_completion=False, help=__doc__)
logger = logging.getLogger("auth.manage")
T = TypeVar("T")


def _run(command: Callable[[Deps], Awaitable[T]], *, needs_phone_keys: bool = False) -> T:
    """Runs one handler with operator deps built from the service's environment."""
    settings = AuthSettings()
    keys = bootstrap.load_key_material(settings)
    if needs_phone_keys and (
        "PHONE_ENCRYPTION_KEYS" in keys.generated or "PHONE_LOOKUP_KEY" in keys.generated
    ):
        raise typer.BadParameter(
            "configure the service's keys first (missing: " + ", ".join(keys.generated) + ")"
        )

    async def run() -> T:
        async with bootstrap.operator_deps(settings, keys) as deps:
            return await command(deps)

    return asyncio.run(run())


@app.command()
def promote(
    phone: Annotated[str, typer.Option(help="E.164 phone number of the user")],
    role: Annotated[str, typer.Option(help="driver, merchant or admin")],
) -> None:
    """Create the user of PHONE if needed and give it ROLE."""
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    try:
        result = _run(
            lambda deps: promote_user(deps, phone=phone, role=role), needs_phone_keys=True
        )
    except (PhoneNumberError, PhoneRegionError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(json.dumps({"user_id": str(result.id), "role": role, "created": result.created}))


@app.command("revoke-sessions")
def revoke_sessions(user_id: Annotated[str, typer.Option(help="the user's UUID")]) -> None:
    """End every session of a user now (access tokens stop working within seconds)."""
    target = uuid.UUID(user_id)
    revoked = _run(
        lambda deps: revoke_user_sessions(deps, user_id=target, reason="operator_revoke")
    )
    typer.echo(json.dumps({"user_id": user_id, "revoked": revoked}))


@app.command("rehash-phones")
def rehash_phones_command(
    batch_size: Annotated[int, typer.Option(min=1, max=5000, help="users per transaction")] = 500,
) -> None:
    """Rewrite every user's phone lookup hash under the current PHONE_LOOKUP_KEY."""
    report = _run(lambda deps: rehash_phones(deps, batch_size=batch_size), needs_phone_keys=True)
    typer.echo(json.dumps(dataclasses.asdict(report)))


if __name__ == "__main__":
    app()
