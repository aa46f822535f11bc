"""``nerava-ops dead-letters list|groups|show|replay|archive|restore|note``.

Connection: ``--api`` / ``NERAVA_API`` (the gateway's base URL) and ``--token`` /
``NERAVA_TOKEN`` (an admin access token); ``--service`` / ``NERAVA_SERVICE`` picks the service.
Every command prints a rich table, or JSON with ``--json``. Selections for replay / archive /
restore: ids, or ``--group-by KIND --group-key KEY``, or filters (``--queue``, ``--type``,
``--exception-type``, ``--fingerprint``, ``--kind``, ``--since``, ``--until``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from nerava_ops.bulk import archive_command, replay_command, restore_command
from nerava_ops.options import (
    DEFAULT_API,
    Api,
    AsJson,
    ExcType,
    Fingerprint,
    GroupByOpt,
    Kind,
    MsgType,
    Queue,
    Service,
    Since,
    Token,
    Until,
    build_filters,
)
from nerava_ops.terminal import open_client, out, print_json, table

dead_letters = typer.Typer(help="Failed messages of a service (its failed_messages table).")


@dead_letters.command("list")
def list_command(
    service: Service,
    api: Api = DEFAULT_API,
    token: Token = None,
    status: Annotated[str | None, typer.Option("--status")] = "unresolved",
    queue: Queue = None,
    message_type: MsgType = None,
    exception_type: ExcType = None,
    fingerprint: Fingerprint = None,
    kind: Kind = None,
    since: Since = None,
    until: Until = None,
    group_by: GroupByOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """List failed messages, or groups of them with counts (``--group-by``)."""
    params = build_filters(
        status, queue, message_type, exception_type, fingerprint, kind, since, until
    )
    with open_client(api, token, service) as client:
        if group_by:
            result = client.groups(group_by, params)
            if as_json:
                print_json(result)
                return
            rows = [
                [
                    g["key"],
                    g["count"],
                    g["first_seen"],
                    g["last_seen"],
                    ", ".join(g["queues"]),
                    g["sample_message"],
                ]
                for g in result["groups"]
            ]
            out.print(
                table(
                    f"{service} dead letters by {group_by}",
                    ["key", "count", "first seen", "last seen", "queues", "sample"],
                    rows,
                )
            )
            return
        result = client.page({**params, "limit": limit, "offset": offset})
    if as_json:
        print_json(result)
        return
    rows = [
        [
            i["id"],
            i["queue"],
            i["message_type"],
            i["failure_kind"],
            i["exception_type"],
            i["attempts"],
            i["last_failed_at"],
            i["status"],
            i["replay_count"],
        ]
        for i in result["items"]
    ]
    out.print(
        table(
            f"{service} dead letters ({len(rows)} of {result['total']})",
            [
                "id",
                "queue",
                "type",
                "kind",
                "exception",
                "attempts",
                "last failed",
                "status",
                "replays",
            ],
            rows,
        )
    )


@dead_letters.command("show")
def show_command(
    failed_id: int,
    service: Service,
    api: Api = DEFAULT_API,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """One failed message: failure, headers, body and notes."""
    with open_client(api, token, service) as client:
        item = client.show(failed_id)
    if as_json:
        print_json(item)
        return
    fields = [[k, item[k]] for k in item if k not in ("headers", "body", "notes")]
    out.print(table(f"dead letter {failed_id}", ["field", "value"], fields))
    out.print(table("headers", ["header", "value"], [[k, v] for k, v in item["headers"].items()]))
    out.print(f"[bold]body[/bold] ({item['body_encoding']}):")
    out.print(item["body"], markup=False, highlight=False)
    for note in item["notes"]:
        out.print(f"[bold]note[/bold] {note['at']} {note['by']}: {note['text']}", markup=True)


@dead_letters.command("note")
def note_command(
    failed_id: int,
    text: str,
    service: Service,
    api: Api = DEFAULT_API,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Add a note to a failed message."""
    with open_client(api, token, service) as client:
        item = client.note(failed_id, text)
    if as_json:
        print_json(item)
        return
    out.print(f"note added to {failed_id} ({len(item['notes'])} note(s))")


dead_letters.command("replay")(replay_command)
dead_letters.command("archive")(archive_command)
dead_letters.command("restore")(restore_command)
