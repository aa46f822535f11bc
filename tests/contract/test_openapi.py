"""Every operation of every service documents each status it can answer as problem+json with
its ``code`` values, and request schemas refuse what the services refuse (a client or fuzzer
built from ``/openapi.json`` learns the real API). The gateway's aggregated document adds what
the edge answers. The pattern: ``common.openapi_errors``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from auth.main import create_app as create_auth
from auth.settings import AuthSettings
from common.openapi_errors import documented_codes
from common.problem import PROBLEM_MEDIA_TYPE
from gateway.openapi_aggregate import OpenApiAggregator
from gateway.routes import RouteTable
from gateway.settings import DEFAULT_ROUTES
from notifications.main import create_app as create_notifications
from notifications.settings import NotificationsSettings
from payments.main import create_app as create_payments
from payments.settings import PaymentsSettings
from sessions.main import create_app as create_sessions
from sessions.settings import SessionsSettings

from deploy.local.environment import FAKE_TWILIO_ACCOUNT

METHODS = ("get", "put", "post", "delete", "patch", "head")
TOKEN_CODES = {"token_missing", "token_invalid", "token_expired", "session_revoked"}


def _documents() -> dict[str, dict[str, Any]]:
    auth = AuthSettings(
        env="test",
        otp_provider="twilio_verify",
        **{k.lower(): v for k, v in FAKE_TWILIO_ACCOUNT.items()},
    )
    return {
        "auth": create_auth(auth).openapi(),
        "sessions": create_sessions(SessionsSettings(env="test")).openapi(),
        "notifications": create_notifications(NotificationsSettings(env="test")).openapi(),
        "payments": create_payments(PaymentsSettings(env="test")).openapi(),
    }


DOCUMENTS = _documents()


def _gateway_document() -> dict[str, Any]:
    aggregator = OpenApiAggregator(
        None,  # type: ignore[arg-type]  (merge reads no upstream)
        RouteTable(DEFAULT_ROUTES),
        title="Nerava API",
        version="test",
        cache_seconds=0,
    )
    return aggregator.merge(DOCUMENTS)


ALL = {**DOCUMENTS, "gateway": _gateway_document()}


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _cases() -> list[Any]:
    return [
        pytest.param(name, path, method, op, id=f"{name} {method.upper()} {path}")
        for name, doc in ALL.items()
        for path, method, op in _operations(doc)
        if path.startswith("/v1/")
    ]


def test_every_service_documents_operations() -> None:
    assert all(any(True for _ in _operations(doc)) for doc in ALL.values())
    assert any(p.startswith("/v1/auth/") for p in ALL["gateway"]["paths"])


@pytest.mark.parametrize(("service", "path", "method", "op"), _cases())
def test_every_error_status_is_a_problem_with_its_codes(
    service: str, path: str, method: str, op: dict[str, Any]
) -> None:
    responses = op["responses"]
    assert any(s.startswith("2") for s in responses), responses.keys()
    for status, response in responses.items():
        if int(status) < 400:
            continue
        assert PROBLEM_MEDIA_TYPE in response.get("content", {}), (status, response)
        assert documented_codes(response), (status, response)
        assert "HTTPValidationError" not in str(response)


@pytest.mark.parametrize(("service", "path", "method", "op"), _cases())
def test_validation_storage_and_token_failures_are_documented(
    service: str, path: str, method: str, op: dict[str, Any]
) -> None:
    responses = op["responses"]
    codes = {status: documented_codes(r) for status, r in responses.items()}
    if op.get("requestBody") or op.get("parameters"):
        assert "validation_failed" in codes.get("400", set())
    if service != "gateway" or op["tags"][0] != "gateway":
        assert "dependency_unavailable" in codes.get("503", set()) or service == "gateway"
    if op.get("security") or "/admin/" in path:
        assert codes.get("401", set()) >= TOKEN_CODES, codes
    if "/admin/" in path:
        assert "insufficient_scope" in codes.get("403", set()), codes


def _resolve(
    document: dict[str, Any], schema: dict[str, Any], local: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed: a component, or one of ``local`` (the ``$defs``
    of a schema written inline, as a route's ``openapi_extra`` body is)."""
    while "$ref" in schema:
        ref = schema["$ref"]
        where = local if ref.startswith("#/$defs/") and local else document["components"]["schemas"]
        schema = where[ref.rsplit("/", 1)[-1]]
    return schema


def _string_fields(
    document: dict[str, Any],
    schema: dict[str, Any],
    where: str = "",
    local: dict[str, Any] | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    local = schema.get("$defs", local)
    schema = _resolve(document, schema, local)
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from _string_fields(document, option, where, local)
    if schema.get("type") == "string":
        yield where, schema
    for name, prop in schema.get("properties", {}).items():
        yield from _string_fields(document, prop, f"{where}.{name}", local)
    if "items" in schema:
        yield from _string_fields(document, schema["items"], f"{where}[]", local)


def _objects(
    document: dict[str, Any], schema: dict[str, Any], local: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    local = schema.get("$defs", local)
    schema = _resolve(document, schema, local)
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        yield from _objects(document, option, local)
    if schema.get("type") == "object" or "properties" in schema:
        yield schema
    for prop in schema.get("properties", {}).values():
        yield from _objects(document, prop, local)
    if "items" in schema:
        yield from _objects(document, schema["items"], local)


# Services whose request bodies are held to "every string has a bounded shape": each refuses a
# blank or malformed string (their handlers check the shape). A service joins the list once its
# routes are written this way; the dead-letter admin filters accept any text on purpose.
STRICT_BODIES = ("auth", "sessions")


@pytest.mark.parametrize("service", STRICT_BODIES)
def test_request_strings_refuse_what_the_service_refuses(service: str) -> None:
    document = DOCUMENTS[service]
    loose = []
    for path, method, op in _operations(document):
        if "/dead-letters" in path:
            continue
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        for where, field in _string_fields(document, body["schema"]):
            if "enum" in field or "format" in field:
                continue
            pattern = field.get("pattern")
            if pattern is None or "maxLength" not in field or re.search(pattern, "   "):
                loose.append(f"{method.upper()} {path} {where}: {field}")
    assert not loose, "\n".join(loose)


@pytest.mark.parametrize("service", STRICT_BODIES)
def test_request_bodies_refuse_unknown_fields(service: str) -> None:
    """A misspelt field is refused (400), not silently dropped: the schema says so too."""
    document = DOCUMENTS[service]
    open_objects = []
    for path, method, op in _operations(document):
        if "/dead-letters" in path:
            continue
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        for schema in _objects(document, body["schema"]):
            if schema.get("additionalProperties") is not False:
                open_objects.append(f"{method.upper()} {path}: {schema.get('title', schema)}")
    assert not open_objects, "\n".join(open_objects)


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/v1/auth/otp/start", "phone", "0"),
        ("/v1/auth/otp/start", "phone", "   "),
        ("/v1/auth/otp/verify", "challenge_id", "0"),
        ("/v1/auth/otp/verify", "code", "12a456"),
        ("/v1/auth/token/refresh", "refresh_token", "0"),
    ],
)
def test_auth_schemas_refuse_the_probes_values(path: str, field: str, value: str) -> None:
    document = DOCUMENTS["auth"]
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    schema = _resolve(document, body["schema"])["properties"][field]
    assert not re.search(schema["pattern"], value)
