"""The envelope every message carries (docs/architecture.md §3.1), serialized as the AMQP body.

``message_id`` is stable across retries and replays: it is the inbox dedup key. Consumers
ignore unknown fields, so producers may add fields without breaking anyone; a breaking change
is a new ``.vN`` type.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    producer: str
    correlation_id: str | None = None
    causation_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        """Raises ``pydantic.ValidationError`` on a malformed body (a poison message)."""
        return cls.model_validate_json(body)
