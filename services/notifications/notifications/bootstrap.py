"""The composition root: builds what the use cases need from settings (tests pass overrides).

The only module that imports adapters.
"""

from __future__ import annotations

from typing import Any

from common.infrastructure import Database
from messaging.inbox import Inbox

from notifications import tables
from notifications.deps import NotificationsDeps
from notifications.settings import NotificationsSettings


def build_deps(
    settings: NotificationsSettings, database: Database, **overrides: Any
) -> NotificationsDeps:
    values: dict[str, Any] = {
        "uow": database.sessions.begin,
        "inbox": Inbox(tables.messaging.inbox),
        **overrides,
    }
    return NotificationsDeps(**values)
