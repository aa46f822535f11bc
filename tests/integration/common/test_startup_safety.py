"""A service process started with unsafe production settings exits non-zero, naming them."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

SERVICES = ("gateway", "auth", "sessions", "notifications", "payments")


async def _start(service: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        f"{service}.main:create_app",
        "--factory",
        "--port",
        "0",
        env={"PATH": os.environ.get("PATH", ""), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@pytest.mark.parametrize("service", SERVICES)
async def test_prod_without_otlp_endpoint_refuses_to_start(service: str) -> None:
    code, out = await _start(service, {"ENV": "prod"})
    assert code != 0
    assert "refusing to start with ENV=prod" in out
    assert "OTLP_ENDPOINT" in out


async def test_missing_env_refuses_to_start() -> None:
    code, out = await _start("sessions", {})
    assert code != 0
    assert "env" in out.lower()
