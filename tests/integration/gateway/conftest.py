"""Fixtures: recording upstreams on ephemeral ports and a gateway in front of them (the pieces
and the ``Stack`` type are in ``tests/support/gateway_stack.py``)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.gateway_stack import (
    RecordingUpstream,
    Stack,
    StackFactory,
    gateway_server,
    gateway_settings,
    upstream_server,
)
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys


@pytest.fixture(scope="session")
def signing_keys() -> TestSigningKeys:
    return TestSigningKeys()


@pytest.fixture(scope="session")
async def recording_upstreams(
    signing_keys: TestSigningKeys,
) -> AsyncIterator[dict[str, RecordingUpstream]]:
    async with contextlib.AsyncExitStack() as stack:
        upstreams = {}
        for name in ("auth", "sessions", "notifications", "payments"):
            upstream = RecordingUpstream(name, keys=signing_keys if name == "auth" else None)
            upstreams[name] = await stack.enter_async_context(upstream_server(upstream))
        yield upstreams


@pytest.fixture
def gateway_stack(
    infra: RunInfra,
    recording_upstreams: dict[str, RecordingUpstream],
    signing_keys: TestSigningKeys,
) -> StackFactory:
    """``async with gateway_stack(**settings_overrides) as stack:`` a gateway in front of them.

    Every gateway started within one test shares a Redis key prefix of that test's own (so a
    restarted gateway sees the same counters, and tests do not share budgets).
    """
    prefix = f"{infra.redis_prefix}:gw{uuid.uuid4().hex[:8]}"

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Stack]:
        for upstream in recording_upstreams.values():
            upstream.received.clear()
        values: dict[str, Any] = {
            f"upstream_{name}": u.url for name, u in recording_upstreams.items()
        }
        values["redis_key_prefix"] = prefix
        values.update(overrides)
        settings = gateway_settings(infra, **values)
        async with (
            gateway_server(settings) as running,
            httpx.AsyncClient(base_url=running.url, timeout=30) as client,
        ):
            yield Stack(running, recording_upstreams, signing_keys, client, prefix)

    return start
