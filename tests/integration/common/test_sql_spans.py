"""Every SQL statement is a client span under the caller's span: parameterised text, no values;
a failing statement ends its span as an error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from common.sql_spans import trace_statements
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support.isolation import RunInfra
from tests.support.spans import captured_spans


@pytest.fixture
async def engine(infra: RunInfra) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(infra.database_url)
    trace_statements(engine)
    trace_statements(engine)  # idempotent: still one span per statement
    yield engine
    await engine.dispose()


async def test_a_statement_is_one_child_span_without_its_values(
    engine: AsyncEngine, infra: RunInfra
) -> None:
    secret = "+14155550123"
    tracer = trace.get_tracer("tests")
    with captured_spans() as spans, tracer.start_as_current_span("use case") as parent:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT length(:phone)"), {"phone": secret})
    [sql] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert sql.name == f"SELECT {infra.database}"
    assert sql.parent is not None
    assert sql.parent.span_id == parent.get_span_context().span_id
    attributes = dict(sql.attributes or {})
    assert attributes["db.system.name"] == "postgresql"
    assert attributes["db.namespace"] == infra.database
    assert "length(" in str(attributes["db.query.text"])
    assert secret not in repr(attributes)


async def test_a_failing_statement_ends_its_span_as_an_error(engine: AsyncEngine) -> None:
    with captured_spans() as spans:
        async with engine.connect() as conn:
            with pytest.raises(ProgrammingError):
                await conn.execute(text("SELECT * FROM no_such_table"))
    [sql] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert sql.status.status_code is StatusCode.ERROR
    assert dict(sql.attributes or {})["error.type"] == "ProgrammingError"
