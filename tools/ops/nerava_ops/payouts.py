"""``nerava-ops payouts list|reconcile``: the payments service's driver payouts.

Same conventions as ``dead-letters``: ``--api`` / ``NERAVA_API`` (the gateway), ``--token`` /
``NERAVA_TOKEN`` (an admin access token), a rich table or ``--json``. ``reconcile`` settles one
``unknown`` or stale ``pending`` payout now (same-key replay inside Stripe's key window, a lookup
by transfer group after it); on a settled payout it changes nothing and shows its state.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nerava_ops.options import DEFAULT_API, Api, AsJson, Token
from nerava_ops.terminal import open_client, out, print_json, table

SERVICE = "payments"
RESOURCE = "payouts"
STATUSES = ("pending", "succeeded", "failed", "unknown", "frozen", "reversed")

payouts = typer.Typer(help="Driver payouts of the payments service (Stripe transfers).")


@payouts.command("list")
def list_command(
    api: Api = DEFAULT_API,
    token: Token = None,
    status: Annotated[str | None, typer.Option("--status", help=" | ".join(STATUSES))] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 100,
    as_json: AsJson = False,
) -> None:
    """Newest first."""
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"status must be one of {', '.join(STATUSES)}")
    params: dict[str, str | int] = {"limit": limit}
    if status is not None:
        params["status"] = status
    with open_client(api, token, SERVICE, resource=RESOURCE) as client:
        page = client.request("GET", "", params=params)
    if as_json:
        print_json(page)
        return
    columns = ["payout_id", "created_at", "driver_id", "status", "amount_minor", "currency"]
    rows = [
        [*(p[c] for c in columns), p["stripe_transfer_id"], p["error_code"], p["attempt_count"]]
        for p in page["items"]
    ]
    out.print(table(f"payouts ({len(rows)})", [*columns, "transfer", "code", "attempts"], rows))


@payouts.command("reconcile")
def reconcile_command(
    payout_id: str,
    api: Api = DEFAULT_API,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Settle one payout now (a settled one: no-op)."""
    with open_client(api, token, SERVICE, resource=RESOURCE) as client:
        result = client.request("POST", f"/{payout_id}/reconcile")
    if as_json:
        print_json(result)
        return
    out.print(table(f"payout {payout_id}", ["field", "value"], [[k, v] for k, v in result.items()]))
