from __future__ import annotations

import json
import logging

import pytest
from common.logs import ContextFilter, JsonFormatter
from common.request_context import request_id_var


def _format(record: logging.LogRecord) -> dict[str, object]:
    ContextFilter("auth").filter(record)
    return json.loads(JsonFormatter().format(record))  # type: ignore[no-any-return]


def test_json_line_carries_service_request_id_and_scrubbed_extras() -> None:
    token = request_id_var.set("req-123")
    try:
        record = logging.makeLogRecord(
            {
                "msg": "otp sent to %s",
                "args": ("+15551234567",),
                "levelname": "INFO",
                "name": "auth.otp",
                "phone": "+15551234567",
                "attempt": 2,
            }
        )
        line = _format(record)
    finally:
        request_id_var.reset(token)
    assert line["service"] == "auth"
    assert line["request_id"] == "req-123"
    assert "+15551234567" not in json.dumps(line)
    assert line["phone"] == "[redacted]"
    assert line["attempt"] == 2
    assert "trace_id" in line


def test_exception_text_is_scrubbed() -> None:
    try:
        raise RuntimeError("twilio refused +15551234567 code=987654")
    except RuntimeError:
        import sys

        record = logging.makeLogRecord(
            {"msg": "failed", "levelname": "ERROR", "name": "x", "exc_info": sys.exc_info()}
        )
    line = _format(record)
    assert "987654" not in str(line["exc"])
    assert "5551234567" not in str(line["exc"])


@pytest.mark.parametrize("value", ["", "x" * 200, "bad id with spaces", "\u00e9"])
def test_unusable_request_ids_are_replaced(value: str) -> None:
    from common.request_context import accept_or_new_request_id

    assert accept_or_new_request_id(value) != value
