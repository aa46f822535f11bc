"""The composition root of the payments service: the only module that imports adapters.

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

from payments import tables
from payments.deps import Deps
from payments.settings import PaymentsSettings


def build_deps(settings: PaymentsSettings, infra: Infrastructure, **overrides: Any) -> Deps:
    values: dict[str, Any] = {"uow": UnitOfWork(infra.database.sessions)}
    values.update(overrides)
    return Deps(**values)


@asynccontextmanager
async def running(
    settings: PaymentsSettings,
    infra: Infrastructure,
    subscriptions: Subscriptions[Deps] | None = None,
) -> AsyncIterator[Deps]:
    deps = build_deps(settings, infra)
    async with open_messaging(
        infra.app, settings, infra.database, tables.messaging, subscriptions, deps=deps
    ):
        yield deps
