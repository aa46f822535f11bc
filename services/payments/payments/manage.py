"""Operator commands of the payments service (not a server; the one entrypoint is main.py).

    python -m payments.manage verify-audit     # walks the audit hash chain; exit 1 if broken
    python -m payments.manage reap-idempotency-keys
    python -m payments.manage backfill-stripe-events --since 2026-12-01T00:00:00Z

Configuration comes from the same environment as the service (``PaymentsSettings``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import typer
from common.database import Database, make_engine, make_session_factory
from common.service import Infrastructure

from payments import audit, housekeeping_handlers
from payments.bootstrap import build_deps, stripe_client
from payments.deps import PaymentsDeps
from payments.settings import PaymentsSettings
from payments.stripe_event_backfill import BackfillReport, backfill_events

T = TypeVar("T")
STRIPE_EVENTS_DAYS = 30

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


async def _with_deps(settings: PaymentsSettings, use: Callable[[PaymentsDeps], Awaitable[T]]) -> T:
    """Runs ``use`` with the service's deps on a small pool (no broker: commands wait in the
    outbox for the service's relay)."""
    database = _database(settings)
    try:
        async with stripe_client(settings) as stripe_api:
            infra = Infrastructure(None, database, None)  # type: ignore[arg-type]
            return await use(build_deps(settings, infra, stripe_api=stripe_api))
    finally:
        await database.engine.dispose()


async def _reap(settings: PaymentsSettings) -> int:
    return await _with_deps(
        settings,
        lambda deps: housekeeping_handlers.reap_idempotency_keys(
            deps, batch=settings.idempotency_reaper_batch_size
        ),
    )


@app.command("reap-idempotency-keys")
def reap_idempotency_keys() -> None:
    """Delete expired idempotency keys now (the service also does it in every replica)."""
    typer.echo(json.dumps({"deleted": asyncio.run(_reap(PaymentsSettings()))}))


def _since(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter("an ISO 8601 time, e.g. 2026-12-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the time zone (Z or +00:00)")
    now = datetime.now(UTC)
    if moment > now or moment < now - timedelta(days=STRIPE_EVENTS_DAYS):
        raise typer.BadParameter(f"within the last {STRIPE_EVENTS_DAYS} days (Stripe keeps those)")
    return moment


@app.command("backfill-stripe-events")
def backfill_stripe_events(
    since: Annotated[str, typer.Option(help="ISO 8601 time; events created at or after it")],
    account: Annotated[
        str | None, typer.Option(help="a connected account (acct_…): list its events instead")
    ] = None,
) -> None:
    """Fetch the events Stripe could not deliver (events.list delivery_success=false, every
    page), store each once and process each once; exit 1 when one failed (it is retried)."""
    moment = _since(since)
    settings = PaymentsSettings()
    report: BackfillReport = asyncio.run(
        _with_deps(settings, lambda deps: backfill_events(deps, since=moment, account=account))
    )
    typer.echo(json.dumps(report.to_json()))
    if report.failed:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
