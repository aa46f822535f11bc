"""What an operator selects: explicit ids, or a filter (a group is a filter on its key)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Table
from sqlalchemy.sql import ColumnElement


class Status(StrEnum):
    UNRESOLVED = "unresolved"
    REPLAYING = "replaying"
    RESOLVED = "resolved"
    ARCHIVED = "archived"


class GroupBy(StrEnum):
    FINGERPRINT = "fingerprint"
    EXCEPTION_TYPE = "exception_type"
    MESSAGE_TYPE = "message_type"
    QUEUE = "queue"


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    queue: str | None = None
    message_type: str | None = None
    exception_type: str | None = None
    fingerprint: str | None = None
    failure_kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def is_empty(self) -> bool:
        return not any(v is not None for k, v in self.model_dump().items() if k != "status")

    def clauses(self, t: Table) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for name in ("status", "queue", "message_type", "exception_type", "fingerprint"):
            value = getattr(self, name)
            if value is not None:
                out.append(t.c[name] == (value.value if isinstance(value, StrEnum) else value))
        if self.failure_kind is not None:
            out.append(t.c.failure_kind == self.failure_kind)
        if self.since is not None:
            out.append(t.c.last_failed_at >= self.since)
        if self.until is not None:
            out.append(t.c.last_failed_at < self.until)
        return out


class Selection(BaseModel):
    """``ids``, or a ``filter`` (at least one field besides status), or a ``group`` key."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(default=None, min_length=1, max_length=100_000)
    filter: Filter | None = None
    group_by: GroupBy | None = None
    group_key: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Selection:
        kinds = sum([self.ids is not None, self.filter is not None, self.group_by is not None])
        if kinds != 1:
            raise ValueError("give exactly one of: ids, filter, group_by + group_key")
        if self.group_by is not None and self.group_key is None:
            raise ValueError("group_by needs group_key")
        if self.filter is not None and self.filter.is_empty():
            raise ValueError("a filter needs at least one field besides status")
        return self

    def as_filter(self) -> Filter | None:
        if self.group_by is not None:
            values: dict[str, Any] = {self.group_by.value: self.group_key}
            return Filter(**values)
        return self.filter
