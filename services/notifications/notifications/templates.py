"""SMS texts: a fixed set of templates filled from the command's ``params`` and reply code.

Every body ends with the delivery's reference mark (``Ref K7Q2MX3A``): it is unique per
delivery, so after an ambiguous send the message can be found again among those Twilio holds
for that number (``reference/notifications.md`` §2, option B).
"""

from __future__ import annotations

import base64
import string
import uuid
from collections.abc import Mapping
from typing import Any

TEMPLATES: dict[str, str] = {
    "merchant_arrival": (
        "Nerava: a driver has arrived at {merchant_name} for {offer_title}. "
        "Reply DONE {reply_code} once you have served them."
    ),
    "merchant_arrival_reminder": (
        "Nerava reminder: a driver is waiting at {merchant_name} for {offer_title}. "
        "Reply DONE {reply_code} once you have served them."
    ),
    "merchant_session_confirmed": (
        "Nerava: offer {offer_code} at {merchant_name} is confirmed. Thank you!"
    ),
}
MAX_PARAM_CHARS = 200


class TemplateError(ValueError):
    """The command names an unknown template or lacks what it needs (never retried)."""


def reference_mark(delivery_id: uuid.UUID) -> str:
    return "Ref " + base64.b32encode(delivery_id.bytes).decode()[:8]


def render(template: str, params: Mapping[str, Any], *, reply_code: str | None, mark: str) -> str:
    text = TEMPLATES.get(template)
    if text is None:
        raise TemplateError(f"unknown template {template!r}")
    values: dict[str, str] = {}
    for _, field, _, _ in string.Formatter().parse(text):
        if field is None:
            continue
        value = (reply_code or params.get(field)) if field == "reply_code" else params.get(field)
        if value is None or not str(value).strip():
            raise TemplateError(f"template {template!r} needs {field!r}")
        values[field] = str(value)[:MAX_PARAM_CHARS]
    return f"{text.format(**values)} {mark}"
