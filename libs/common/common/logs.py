"""JSON logging to stdout with request id, trace id and service name, scrubbed of secrets."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from common.redaction import scrub_text, scrub_value
from common.request_context import current_request_id

_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Adds service, request_id and trace ids to every record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = current_request_id()
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        else:
            record.trace_id = None
            record.span_id = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extras are included after redaction."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": scrub_text(record.getMessage()),
            "service": getattr(record, "service", None),
            "request_id": getattr(record, "request_id", None),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        for key, value in record.__dict__.items():
            if key in _RESERVED or key in payload or key.startswith("_"):
                continue
            payload[key] = scrub_value(key, value)
        if record.exc_info:
            exc_text = "".join(traceback.format_exception(*record.exc_info))
            payload["exc"] = scrub_text(exc_text)
        return json.dumps(payload, default=str)


class PlainFormatter(logging.Formatter):
    """Readable single-line logs for a developer's terminal, also scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub_text(super().format(record))


def configure_logging(service: str, *, level: str = "INFO", json_output: bool = True) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(ContextFilter(service))
    if json_output:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            PlainFormatter("%(asctime)s %(levelname)s %(service)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_nerava", False):
            root.removeHandler(existing)
    handler._nerava = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "aiormq", "aio_pika"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
