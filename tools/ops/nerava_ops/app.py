"""The ``nerava-ops`` command line: one group of commands per operational concern."""

from __future__ import annotations

import typer

from nerava_ops.dead_letters import dead_letters
from nerava_ops.deliveries import deliveries
from nerava_ops.kill_switches import kill_switches
from nerava_ops.payouts import payouts

app = typer.Typer(name="nerava-ops", help="Nerava operations.", no_args_is_help=True)
app.add_typer(dead_letters, name="dead-letters")
app.add_typer(deliveries, name="deliveries")
app.add_typer(kill_switches, name="kill-switches")
app.add_typer(payouts, name="payouts")
