"""The composition root of the sessions service: the only module that imports adapters.

``running`` builds the deps from settings and the shared infrastructure and opens messaging
with them (the consumers' handlers get them as ``delivery.deps``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from common.service import Infrastructure
from common.uow import UnitOfWork
from messaging.lifecycle import open_messaging
from messaging.subscriber import Subscriptions

from sessions import tables
from sessions.deps import Deps
from sessions.settings import SessionsSettings


def build_deps(settings: SessionsSettings, infra: Infrastructure, **overrides: Any) -> Deps:
    values: dict[str, Any] = {"uow": UnitOfWork(infra.database.sessions)}
    values.update(overrides)
    return Deps(**values)


@asynccontextmanager
async def running(
    settings: SessionsSettings,
    infra: Infrastructure,
    subscriptions: Subscriptions[Deps] | None = None,
) -> AsyncIterator[Deps]:
    deps = build_deps(settings, infra)
    async with open_messaging(
        infra.app, settings, infra.database, tables.messaging, subscriptions, deps=deps
    ):
        yield deps
