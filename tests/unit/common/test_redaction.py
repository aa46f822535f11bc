from __future__ import annotations

import pytest
from common.redaction import REDACTED, scrub_text, scrub_value


@pytest.mark.parametrize(
    "text",
    [
        "sending to +15551234567 now",
        "sending to +1 555 123 4567 now",
        "raw 15551234567 number",
        "Authorization: Bearer abc.def.ghi",
        "token eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl leaked",
        "verify code=123456 for user",
        "stripe key sk_test_51HxYzABCDEF123456",
    ],
)
def test_secrets_and_phones_are_scrubbed(text: str) -> None:
    scrubbed = scrub_text(text)
    for secret in ("5551234567", "555 123 4567", "abc.def.ghi", "eyJzdWIi", "123456", "sk_test_51"):
        assert secret not in scrubbed


def test_dates_uuids_and_short_numbers_survive() -> None:
    text = "at 2026-11-23 14:10:38 id 0b6d2c7e-8f1a-4c55-9b0e-1d2c3b4a5f6e took 42 ms"
    assert scrub_text(text) == text


def test_sensitive_keys_are_redacted_at_any_depth() -> None:
    value = scrub_value("ctx", {"phone": "+15551234567", "nested": {"code": "123456"}, "n": 3})
    assert value == {"phone": REDACTED, "nested": {"code": REDACTED}, "n": 3}
