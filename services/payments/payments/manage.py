"""Operator commands of the payments service (not a server; the one entrypoint is main.py).

    python -m payments.manage verify-audit     # walks the audit hash chain; exit 1 if broken
    python -m payments.manage reap-idempotency-keys

Configuration comes from the same environment as the service (``PaymentsSettings``).
"""

from __future__ import annotations

import asyncio
import json

import typer
from common.database import Database, make_engine, make_session_factory
from common.service import Infrastructure

from payments import audit, housekeeping_handlers
from payments.bootstrap import build_deps, stripe_client
from payments.settings import PaymentsSettings

app = typer.Typer(add_completion=False, help=__doc__)


def _database(settings: PaymentsSettings) -> Database:
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    return Database(engine=engine, sessions=make_session_factory(engine))


async def _verify(settings: PaymentsSettings) -> audit.ChainReport:
    database = _database(settings)
    try:
        async with database.engine.connect() as conn:
            return await audit.verify_chain(conn)
    finally:
        await database.engine.dispose()


@app.command("verify-audit")
def verify_audit() -> None:
    """Recompute every audit row's hash and link; name the first row that does not match."""
    report = asyncio.run(_verify(PaymentsSettings()))
    typer.echo(
        json.dumps(
            {
                "checked": report.checked,
                "intact": report.intact,
                "first_bad_id": report.first_bad_id,
                "problem": report.problem,
            }
        )
    )
    if not report.intact:
        raise typer.Exit(code=1)


async def _reap(settings: PaymentsSettings) -> int:
    database = _database(settings)
    try:
        async with stripe_client(settings) as stripe_api:
            infra = Infrastructure(None, database, None)  # type: ignore[arg-type]
            deps = build_deps(settings, infra, stripe_api=stripe_api)
            return await housekeeping_handlers.reap_idempotency_keys(
                deps, batch=settings.idempotency_reaper_batch_size
            )
    finally:
        await database.engine.dispose()


@app.command("reap-idempotency-keys")
def reap_idempotency_keys() -> None:
    """Delete expired idempotency keys now (the service also does it in every replica)."""
    typer.echo(json.dumps({"deleted": asyncio.run(_reap(PaymentsSettings()))}))


if __name__ == "__main__":
    app()
