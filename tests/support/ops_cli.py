"""Runs the operator CLI (``nerava-ops``) in-process, off the event loop."""

from __future__ import annotations

import asyncio

from nerava_ops import app as cli
from typer.testing import CliRunner


async def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``nerava-ops <args>`` with ``env``."""
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, cli, args, env=env)
    return result.exit_code, result.stdout, result.stderr
