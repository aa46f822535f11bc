"""Pure rules of the analytics sink: whose events may be kept.

- An event of a user is kept only if the projection says the user consented to analytics at
  the event's time (consent granted at or before ``occurred_at``) and has not withdrawn it
  since: a withdrawal applies to everything not yet processed. Unknown users: denied.
- An event without a user is kept only if its properties carry no personal data (no key that
  names it, no value that looks like a phone number or an e-mail address).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PERSONAL_KEYS = (
    "phone",
    "email",
    "e_mail",
    "name",
    "address",
    "ip",
    "lat",
    "lng",
    "lon",
    "location",
    "token",
    "password",
    "card",
    "iban",
    "birth",
)
_PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)


@dataclass(frozen=True)
class KeptEvent:
    """An analytics event the rules let through, as it is stored and forwarded."""

    message_id: uuid.UUID  # the publisher's envelope id: the event's identity downstream too
    name: str
    user_id: uuid.UUID | None
    producer: str
    properties: Mapping[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class Consent:
    analytics: bool
    changed_at: datetime


def allows_analytics(consent: Consent | None, occurred_at: datetime) -> bool:
    return consent is not None and consent.analytics and consent.changed_at <= occurred_at


def carries_personal_data(properties: Mapping[str, Any]) -> bool:
    for key, value in properties.items():
        lowered = key.lower()
        if any(word in lowered for word in PERSONAL_KEYS):
            return True
        if isinstance(value, Mapping) and carries_personal_data(value):
            return True
        if isinstance(value, str) and (_PHONE.search(value) or _EMAIL.search(value)):
            return True
    return False
