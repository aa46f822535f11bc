"""The sessions service's OpenAPI document: every operation documents its error statuses with
the problem+json schema, and request bodies refuse unknown fields, as the service does."""

from __future__ import annotations

from typing import Any

import pytest
from sessions.main import create_app
from sessions.settings import SessionsSettings

METHODS = ("get", "put", "post", "delete", "patch")


def _document() -> dict[str, Any]:
    document: dict[str, Any] = create_app(SessionsSettings(env="local")).openapi()
    return document


DOCUMENT = _document()
OPERATIONS = [
    (method.upper(), path, item[method])
    for path, item in DOCUMENT["paths"].items()
    for method in METHODS
    if method in item and not path.startswith("/v1/admin/dead-letters")
]


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    if ref is None:
        return ref_or_schema
    found: dict[str, Any] = DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_operation_documents_its_problems(method: str, path: str, operation: Any) -> None:
    responses = operation["responses"]
    expected = {"401", "503"}
    validated_body = "requestBody" in operation and "text/csv" not in str(operation["requestBody"])
    if "{" in path or validated_body or operation.get("parameters"):
        expected.add("400")
    if "{" in path:
        expected.add("404")
    if path.startswith("/v1/admin/") or "/exclusive-sessions" in path or "/merchants/" in path:
        expected.add("403")
    missing = expected - set(responses)
    assert not missing, f"{method} {path} does not document {sorted(missing)}"
    for status, response in responses.items():
        if int(status) >= 400:
            content = response.get("content", {})
            assert "application/problem+json" in content, f"{method} {path} {status}"
            schema = content["application/problem+json"]["schema"]
            assert {"type", "title", "status", "detail", "code"} <= set(schema["properties"])


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [o for o in OPERATIONS if "requestBody" in o[2]],
    ids=[f"{m} {p}" for m, p, o in OPERATIONS if "requestBody" in o],
)
def test_request_bodies_refuse_unknown_fields(method: str, path: str, operation: Any) -> None:
    for content in operation["requestBody"]["content"].values():
        schema = _schema(content["schema"])
        if schema.get("type") == "object":
            assert schema.get("additionalProperties") is False, f"{method} {path}"
