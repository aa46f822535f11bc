"""One client span per SQL statement an engine runs, from SQLAlchemy's cursor events.

OpenTelemetry's SQLAlchemy instrumentation refuses SQLAlchemy 2.1 (it instruments nothing and
logs an error at every start), and it also wraps ``create_engine`` and meters every pool
checkout. This is the part we use: a span named ``<first keyword> <database>`` (``SELECT
nerava``, ``WITH nerava``) with the statement's text — parameterised, never the values — and
the server's address, ended when the cursor returns or marked failed on an error. The span is a
child of whatever span is current when the statement runs (SQLAlchemy carries the caller's
context into its greenlet).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

tracer = trace.get_tracer(__name__)

_SPAN = "_nerava_sql_span"
_QUERY_TEXT_LIMIT = 2000


def _operation(statement: str) -> str:
    words = statement.lstrip().split(None, 1)
    return words[0].upper() if words else "SQL"


def trace_statements(engine: AsyncEngine) -> None:
    """Adds the statement spans to ``engine`` (idempotent)."""
    sync_engine: Engine = engine.sync_engine
    if event.contains(sync_engine, "before_cursor_execute", _before):
        return
    event.listen(sync_engine, "before_cursor_execute", _before)
    event.listen(sync_engine, "after_cursor_execute", _after)
    event.listen(sync_engine, "handle_error", _failed)


def start_statement_span(
    statement: str, *, system: str, database: str, host: str, port: int
) -> Span:
    """A started client span for one statement (the caller ends it)."""
    return tracer.start_span(
        f"{_operation(statement)} {database}".strip(),
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": system,
            "db.namespace": database,
            "db.query.text": statement[:_QUERY_TEXT_LIMIT],
            "server.address": host,
            "server.port": port,
        },
    )


def end_failed(span: Span, error: BaseException) -> None:
    span.set_attribute("error.type", type(error).__name__)
    span.set_status(Status(StatusCode.ERROR))
    span.end()


def _before(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    url = conn.engine.url
    span = start_statement_span(
        statement,
        system=conn.engine.dialect.name,
        database=url.database or "",
        host=url.host or "",
        port=url.port or 5432,
    )
    if context is not None:
        setattr(context, _SPAN, span)


def _after(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    span = getattr(context, _SPAN, None)
    if span is not None:
        span.end()
        setattr(context, _SPAN, None)


def _failed(exception_context: ExceptionContext) -> None:
    context = exception_context.execution_context
    span = getattr(context, _SPAN, None)
    if span is None:
        return
    end_failed(span, exception_context.original_exception)
    setattr(context, _SPAN, None)
