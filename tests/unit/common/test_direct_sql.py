from __future__ import annotations

import pytest
from common.direct_sql import compile_statement
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select

things = Table(
    "things",
    MetaData(schema="demo"),
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("state", String),
)


def test_compiles_to_numbered_placeholders_with_literals_bound_once() -> None:
    statement = select(things.c.id).where(
        things.c.name == bindparam("name"), things.c.state == "active"
    )
    compiled = compile_statement(statement)
    assert "$1" in compiled.sql and "$2" in compiled.sql
    assert "demo.things" in compiled.sql
    assert compiled.arguments({"name": "x"}) == ["x", "active"]


def test_a_missing_parameter_is_refused() -> None:
    compiled = compile_statement(select(things.c.id).where(things.c.name == bindparam("name")))
    with pytest.raises(KeyError):
        compiled.arguments({})
