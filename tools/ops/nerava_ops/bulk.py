"""Bulk actions on a selection of failed messages: replay, archive, restore.

A selection is ids, or ``--group-by KIND --group-key KEY``, or filters. Work goes in batches with a
progress bar; the totals (requested, done, skipped, failed) are printed at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nerava_ops.client import AdminClient
from nerava_ops.options import (
    DEFAULT_API,
    Api,
    AsJson,
    Batch,
    ExcType,
    Fingerprint,
    GroupByOpt,
    GroupKey,
    Ids,
    Kind,
    MsgType,
    Queue,
    Service,
    Since,
    Token,
    Until,
    Yes,
    build_filters,
)
from nerava_ops.terminal import err, open_client, out, print_json, table


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
    with open_client(api, token, service) as client:
        selected = _selection(client, ids, group_by, group_key, filters, status)
        if not selected:
            err.print("nothing matches")
            if as_json:
                print_json({"requested": 0, "done": 0, "skipped": 0, "failed": 0})
            return
        if not yes and not as_json:
            typer.confirm(f"{verb} {len(selected)} message(s) of {service}?", abort=True)
        action = {"replay": client.replay, "archive": client.archive, "restore": client.restore}[
            verb
        ]
        totals = _batched(action, selected, batch=batch, label=verb, show_progress=not as_json)
    if as_json:
        print_json(totals)
        return
    out.print(
        table(
            f"{verb} {service}",
            ["requested", "done", "skipped", "failed"],
            [[totals["requested"], totals["done"], totals["skipped"], totals["failed"]]],
        )
    )
    if totals["failed"]:
        raise typer.Exit(1)


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
    filters = build_filters(
        None, queue, message_type, exception_type, fingerprint, kind, since, until
    )
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


def _status_change_command(verb: str, from_status: str, doc: str) -> Callable[..., None]:
    """A command that moves a selection of failed messages out of ``from_status``."""

    def command(
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
        filters = build_filters(
            None, queue, message_type, exception_type, fingerprint, kind, None, None
        )
        _bulk(
            verb,
            service,
            api,
            token,
            ids,
            group_by,
            group_key,
            filters,
            from_status,
            batch,
            yes,
            as_json,
        )

    command.__name__ = f"{verb}_command"
    command.__doc__ = doc
    return command


archive_command = _status_change_command(
    "archive", "unresolved", "Archive unresolved failed messages (kept, hidden from the list)."
)
restore_command = _status_change_command(
    "restore", "archived", "Bring archived failed messages back to unresolved."
)
