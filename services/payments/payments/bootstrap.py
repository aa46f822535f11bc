"""The composition root: builds what the use cases need from settings (tests replace parts)."""

from __future__ import annotations

from typing import Any

from common.infrastructure import Database
from messaging.inbox import Inbox
from messaging.outbox import Outbox

from payments import contracts, tables
from payments.deps import PaymentsDeps
from payments.kill_switch_reader import CachedKillSwitches
from payments.settings import PaymentsSettings
from payments.unit_of_work import UnitOfWork


def build_deps(settings: PaymentsSettings, database: Database, **overrides: Any) -> PaymentsDeps:
    values: dict[str, Any] = {
        "settings": settings,
        "uow": UnitOfWork(database.sessions),
        "engine": database.engine,
        "outbox": Outbox(tables.messaging.outbox, contracts.PUBLISHES),
        "inbox": Inbox(tables.messaging.inbox),
        "kill_switches": CachedKillSwitches(
            database.engine, cache_seconds=settings.kill_switch_cache_seconds
        ),
    }
    values.update(overrides)
    return PaymentsDeps(**values)
