"""Where ``nerava-ops`` prints (rich tables, JSON) and how it reaches the admin API."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from nerava_ops.client import AdminClient, ApiError, Target

out = Console()
err = Console(stderr=True)


@contextmanager
def open_client(
    api: str, token: str | None, service: str, *, resource: str = "dead-letters"
) -> Iterator[AdminClient]:
    client = AdminClient(Target(api=api, token=token, service=service), resource=resource)
    try:
        yield client
    except ApiError as exc:
        err.print(f"[red]error[/red] {exc.code} ({exc.status or 'no answer'}): {exc.detail}")
        raise typer.Exit(2 if exc.status == 0 else 1) from exc
    finally:
        client.close()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table
