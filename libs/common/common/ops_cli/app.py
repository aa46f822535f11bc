"""``nerava-ops dead-letters list|groups|show|replay|archive|restore|note``.

Connection: ``--api`` / ``NERAVA_API`` (the gateway's base URL) and ``--token`` /
``NERAVA_TOKEN`` (an admin access token); ``--service`` / ``NERAVA_SERVICE`` picks the service.
Every command prints a rich table, or JSON with ``--json``. Selections for replay / archive /
restore: ids, or ``--group-by KIND --group-key KEY``, or filters (``--queue``, ``--type``,
``--exception-type``, ``--fingerprint``, ``--kind``, ``--since``, ``--until``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from common.ops_cli.client import AdminClient, ApiError, Target

app = typer.Typer(name="nerava-ops", help="Nerava operations.", no_args_is_help=True)
dead_letters = typer.Typer(help="Failed messages of a service (its failed_messages table).")
app.add_typer(dead_letters, name="dead-letters")

out = Console()
err = Console(stderr=True)

Api = Annotated[str, typer.Option("--api", envvar="NERAVA_API", help="Gateway base URL.")]
Token = Annotated[
    str | None, typer.Option("--token", envvar="NERAVA_TOKEN", help="Admin access token.")
]
Service = Annotated[
    str,
    typer.Option(
        "--service", "-s", envvar="NERAVA_SERVICE", help="auth|sessions|notifications|payments"
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Queue = Annotated[str | None, typer.Option("--queue")]
MsgType = Annotated[str | None, typer.Option("--type", help="Message type, e.g. x.y.v1.")]
ExcType = Annotated[str | None, typer.Option("--exception-type")]
Fingerprint = Annotated[str | None, typer.Option("--fingerprint")]
Kind = Annotated[
    str | None, typer.Option("--kind", help="transient|permanent|poison|exhausted|delivery_limit")
]
Since = Annotated[datetime | None, typer.Option("--since")]
Until = Annotated[datetime | None, typer.Option("--until")]
GroupByOpt = Annotated[
    str | None, typer.Option("--group-by", help="fingerprint|exception_type|message_type|queue")
]
GroupKey = Annotated[str | None, typer.Option("--group-key")]

DEFAULT_API = "http://127.0.0.1:8000"


@contextmanager
def _client(api: str, token: str | None, service: str) -> Iterator[AdminClient]:
    client = AdminClient(Target(api=api, token=token, service=service))
    try:
        yield client
    except ApiError as exc:
        err.print(f"[red]error[/red] {exc.code} ({exc.status or 'no answer'}): {exc.detail}")
        raise typer.Exit(2 if exc.status == 0 else 1) from exc
    finally:
        client.close()


def _filters(
    status: str | None,
    queue: str | None,
    message_type: str | None,
    exception_type: str | None,
    fingerprint: str | None,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    values = {
        "status": status,
        "queue": queue,
        "message_type": message_type,
        "exception_type": exception_type,
        "fingerprint": fingerprint,
        "failure_kind": kind,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


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
    params = _filters(status, queue, message_type, exception_type, fingerprint, kind, since, until)
    with _client(api, token, service) as client:
        if group_by:
            result = client.groups(group_by, params)
            if as_json:
                _print_json(result)
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
                _table(
                    f"{service} dead letters by {group_by}",
                    ["key", "count", "first seen", "last seen", "queues", "sample"],
                    rows,
                )
            )
            return
        result = client.page({**params, "limit": limit, "offset": offset})
    if as_json:
        _print_json(result)
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
        _table(
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
    with _client(api, token, service) as client:
        item = client.show(failed_id)
    if as_json:
        _print_json(item)
        return
    fields = [[k, item[k]] for k in item if k not in ("headers", "body", "notes")]
    out.print(_table(f"dead letter {failed_id}", ["field", "value"], fields))
    out.print(_table("headers", ["header", "value"], [[k, v] for k, v in item["headers"].items()]))
    out.print(f"[bold]body[/bold] ({item['body_encoding']}):")
    out.print(item["body"], markup=False, highlight=False)
    for note in item["notes"]:
        out.print(f"[bold]note[/bold] {note['at']} {note['by']}: {note['text']}", markup=True)


def _selection(
    client: AdminClient,
    ids: list[int] | None,
    group_by: str | None,
    group_key: str | None,
    filters: dict[str, Any],
    status: str,
) -> list[int]:
    if ids:
        return sorted(set(ids))
    if group_by:
        if not group_key:
            raise typer.BadParameter("--group-by needs --group-key")
        return client.all_ids({group_by: group_key, "status": status})
    if not filters:
        raise typer.BadParameter("give ids, --group-by/--group-key, or at least one filter")
    return client.all_ids({**filters, "status": status})


def _batched(
    action: Callable[[dict[str, Any]], Any],
    ids: list[int],
    *,
    batch: int,
    label: str,
    show_progress: bool,
) -> dict[str, Any]:
    totals: dict[str, Any] = {"requested": len(ids), "done": 0, "skipped": 0, "failed": 0}
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not show_progress,
    ) as progress:
        task = progress.add_task(label, total=len(ids))
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            result = action({"ids": chunk})
            totals["done"] += int(result.get("replayed", result.get("changed", 0)))
            totals["skipped"] += int(result.get("skipped", 0))
            totals["failed"] += int(result.get("failed", 0))
            progress.advance(task, len(chunk))
    return totals


def _bulk(
    verb: str,
    service: str,
    api: str,
    token: str | None,
    ids: list[int] | None,
    group_by: str | None,
    group_key: str | None,
    filters: dict[str, Any],
    status: str,
    batch: int,
    yes: bool,
    as_json: bool,
) -> None:
    with _client(api, token, service) as client:
        selected = _selection(client, ids, group_by, group_key, filters, status)
        if not selected:
            err.print("nothing matches")
            if as_json:
                _print_json({"requested": 0, "done": 0, "skipped": 0, "failed": 0})
            return
        if not yes and not as_json:
            typer.confirm(f"{verb} {len(selected)} message(s) of {service}?", abort=True)
        action = {"replay": client.replay, "archive": client.archive, "restore": client.restore}[
            verb
        ]
        totals = _batched(action, selected, batch=batch, label=verb, show_progress=not as_json)
    if as_json:
        _print_json(totals)
        return
    out.print(
        _table(
            f"{verb} {service}",
            ["requested", "done", "skipped", "failed"],
            [[totals["requested"], totals["done"], totals["skipped"], totals["failed"]]],
        )
    )
    if totals["failed"]:
        raise typer.Exit(1)


Ids = Annotated[list[int] | None, typer.Argument(help="failed message ids")]
Batch = Annotated[int, typer.Option("--batch", min=1, max=1000, help="ids per request")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]


@dead_letters.command("replay")
def replay_command(
    service: Service,
    ids: Ids = None,
    api: Api = DEFAULT_API,
    token: Token = None,
    group_by: GroupByOpt = None,
    group_key: GroupKey = None,
    queue: Queue = None,
    message_type: MsgType = None,
    exception_type: ExcType = None,
    fingerprint: Fingerprint = None,
    kind: Kind = None,
    since: Since = None,
    until: Until = None,
    batch: Batch = 50,
    yes: Yes = False,
    as_json: AsJson = False,
) -> None:
    """Replay to the original queue only (headers reset, replay counted); resolved: no-op."""
    filters = _filters(None, queue, message_type, exception_type, fingerprint, kind, since, until)
    _bulk(
        "replay",
        service,
        api,
        token,
        ids,
        group_by,
        group_key,
        filters,
        "unresolved",
        batch,
        yes,
        as_json,
    )


@dead_letters.command("archive")
def archive_command(
    service: Service,
    ids: Ids = None,
    api: Api = DEFAULT_API,
    token: Token = None,
    group_by: GroupByOpt = None,
    group_key: GroupKey = None,
    queue: Queue = None,
    message_type: MsgType = None,
    exception_type: ExcType = None,
    fingerprint: Fingerprint = None,
    kind: Kind = None,
    batch: Batch = 200,
    yes: Yes = False,
    as_json: AsJson = False,
) -> None:
    """Archive unresolved failed messages (kept, hidden from the unresolved list)."""
    filters = _filters(None, queue, message_type, exception_type, fingerprint, kind, None, None)
    _bulk(
        "archive",
        service,
        api,
        token,
        ids,
        group_by,
        group_key,
        filters,
        "unresolved",
        batch,
        yes,
        as_json,
    )


@dead_letters.command("restore")
def restore_command(
    service: Service,
    ids: Ids = None,
    api: Api = DEFAULT_API,
    token: Token = None,
    group_by: GroupByOpt = None,
    group_key: GroupKey = None,
    queue: Queue = None,
    message_type: MsgType = None,
    exception_type: ExcType = None,
    fingerprint: Fingerprint = None,
    kind: Kind = None,
    batch: Batch = 200,
    yes: Yes = False,
    as_json: AsJson = False,
) -> None:
    """Bring archived failed messages back to unresolved."""
    filters = _filters(None, queue, message_type, exception_type, fingerprint, kind, None, None)
    _bulk(
        "restore",
        service,
        api,
        token,
        ids,
        group_by,
        group_key,
        filters,
        "archived",
        batch,
        yes,
        as_json,
    )


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
    with _client(api, token, service) as client:
        item = client.note(failed_id, text)
    if as_json:
        _print_json(item)
        return
    out.print(f"note added to {failed_id} ({len(item['notes'])} note(s))")
