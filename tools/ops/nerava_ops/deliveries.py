"""``nerava-ops deliveries list|show``: the notifications service's SMS deliveries.

Same conventions as ``dead-letters``: ``--api`` / ``NERAVA_API``, ``--token`` / ``NERAVA_TOKEN``,
a rich table or ``--json``. Phones arrive masked. A delivery that ran out of retries is in the
dead letters of ``notifications.sms.send``: replay it with ``nerava-ops dead-letters replay
--service notifications``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from nerava_ops.options import DEFAULT_API, Api, AsJson, Since, Token, Until
from nerava_ops.terminal import open_client, out, print_json, table

SERVICE = "notifications"
RESOURCE = "sms-deliveries"

deliveries = typer.Typer(help="SMS deliveries of the notifications service.")


@deliveries.command("list")
def list_command(
    api: Api = DEFAULT_API,
    token: Token = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    reference_kind: Annotated[str | None, typer.Option("--reference-kind")] = None,
    reference_id: Annotated[str | None, typer.Option("--reference")] = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200)] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="next_cursor of a page")] = None,
    as_json: AsJson = False,
) -> None:
    """Newest first; ``--cursor`` continues where a page ended."""
    params = _params(
        status=status,
        reference_kind=reference_kind,
        reference_id=reference_id,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    with open_client(api, token, SERVICE, resource=RESOURCE) as client:
        page = client.request("GET", "", params=params)
    if as_json:
        print_json(page)
        return
    rows = [
        [
            d["id"],
            d["created_at"],
            f"{d['reference']['kind']}:{d['reference']['id']}",
            d["to"],
            d["status"],
            d["error_code"],
            len(d["attempts"]),
            d["message_sid"],
        ]
        for d in page["items"]
    ]
    out.print(
        table(
            f"sms deliveries ({len(rows)})",
            ["id", "created", "reference", "to", "status", "code", "attempts", "sid"],
            rows,
        )
    )
    if page.get("next_cursor"):
        out.print(f"more: --cursor {page['next_cursor']}")


@deliveries.command("show")
def show_command(
    delivery_id: str,
    api: Api = DEFAULT_API,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """One delivery: its fields, each attempt and each status callback."""
    with open_client(api, token, SERVICE, resource=RESOURCE) as client:
        item = client.request("GET", f"/{delivery_id}")
    if as_json:
        print_json(item)
        return
    fields = [[k, v] for k, v in item.items() if k not in ("attempts", "callbacks")]
    out.print(table(f"sms delivery {delivery_id}", ["field", "value"], fields))
    attempt_columns = ["n", "started_at", "finished_at", "outcome", "message_sid", "http_status"]
    out.print(
        table(
            "attempts",
            [*attempt_columns, "error_code"],
            [[a[c] for c in [*attempt_columns, "error_code"]] for a in item["attempts"]],
        )
    )
    callback_columns = ["received_at", "status", "error_code", "applied", "message_sid"]
    out.print(
        table(
            "status callbacks",
            callback_columns,
            [[c[k] for k in callback_columns] for c in item["callbacks"]],
        )
    )


def _params(**values: Any) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in values.items()
        if v is not None
    }
