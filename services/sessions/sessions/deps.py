"""What the sessions service's handlers may touch, typed by Protocols.

``bootstrap`` builds the real ones; tests pass fakes there.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class Deps:
    uow: UnitOfWorkFactory
