"""The options every ``nerava-ops`` command shares, and the filter set they build."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

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
Ids = Annotated[list[int] | None, typer.Argument(help="failed message ids")]
Batch = Annotated[int, typer.Option("--batch", min=1, max=1000, help="ids per request")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]

DEFAULT_API = "http://127.0.0.1:8000"


def build_filters(
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
