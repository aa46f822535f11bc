"""``nerava-ops kill-switches list|set``: the payments kill switches (stored in its database).

Connection: ``--api`` / ``NERAVA_API`` (the gateway) and ``--token`` / ``NERAVA_TOKEN`` (an
admin access token). ``set`` asks for confirmation (``--yes`` skips it) and needs a reason;
the change is audited by payments (who, why, when).
"""

from __future__ import annotations

from typing import Annotated

import typer

from nerava_ops.options import DEFAULT_API, Api, AsJson, Token, Yes
from nerava_ops.terminal import open_client, out, print_json, table

kill_switches = typer.Typer(help="Payments kill switches (fail closed; audited).")

SERVICE = "payments"
RESOURCE = "kill-switches"
NAMES = ("BLOCK_ALL_MONEY_MOVEMENT", "NOVA_EARN_ENABLED", "NOVA_REDEEM_ENABLED", "PAYOUTS_ENABLED")


@kill_switches.command("list")
def list_command(api: Api = DEFAULT_API, token: Token = None, as_json: AsJson = False) -> None:
    """Every switch: state, reason, who changed it and when."""
    with open_client(api, token, SERVICE, resource=RESOURCE) as client:
        result = client.request("GET")
    if as_json:
        print_json(result)
        return
    rows = [
        [i["name"], "on" if i["enabled"] else "off", i["reason"], i["updated_by"], i["updated_at"]]
        for i in result["items"]
    ]
    out.print(table("payments kill switches", ["name", "state", "reason", "by", "at"], rows))


@kill_switches.command("set")
def set_command(
    name: Annotated[str, typer.Argument(help=", ".join(NAMES))],
    state: Annotated[str, typer.Argument(help="on | off")],
    reason: Annotated[str, typer.Option("--reason", help="Why (stored and audited).")],
    api: Api = DEFAULT_API,
    token: Token = None,
    yes: Yes = False,
    as_json: AsJson = False,
) -> None:
    """Turn a switch on or off."""
    if name not in NAMES:
        raise typer.BadParameter(f"name must be one of {', '.join(NAMES)}")
    if state not in ("on", "off"):
        raise typer.BadParameter("state must be on or off")
    if not reason.strip():
        raise typer.BadParameter("a reason is required")
    if not yes:
        typer.confirm(f"Set {name} {state} on payments ({reason})?", abort=True)
    body = {"name": name, "enabled": state == "on", "reason": reason}
    with open_client(api, token, SERVICE, resource=RESOURCE) as client:
        result = client.request("PUT", json=body)
    if as_json:
        print_json(result)
        return
    out.print(f"{result['name']} is {'on' if result['enabled'] else 'off'} ({result['reason']})")
