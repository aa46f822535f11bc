"""What an operation answers besides success, in its OpenAPI document, and schema constraints.

Every route lists the errors it can raise; each status is documented as
``application/problem+json`` with the ``ProblemDetails`` schema whose ``code`` enumerates
exactly the codes of that status::

    from common.openapi_errors import SIGNED_IN, problems

    @router.put(
        "/v1/account/consent",
        response_model=ConsentResponse,
        responses=problems(*SIGNED_IN, UserNotFoundError, DependencyUnavailable),
    )

``problems(...)`` takes error classes (their ``status``/``code``) and ``(status, code)`` pairs
for an error raised with an instance code (``Unavailable(..., code="dead_letters_unavailable")``).
``SIGNED_IN`` is what a route behind ``CurrentUser`` can answer (401 token errors, 503 when the
revocation check cannot run); ``ADMIN`` adds 403 ``insufficient_scope`` (``AdminUser``).

:func:`install_problem_openapi` (``create_service_app`` calls it) rewrites the generated
document once: FastAPI's 422 ``HTTPValidationError`` goes (a request that fails validation is
400 ``validation_failed`` here), every operation with a body or parameters documents that 400
(and one with a body 415 ``unsupported_media_type``),
``every_operation`` errors (a service with Postgres or Redis: 503 ``dependency_unavailable``)
join every operation under ``/v1/``, and responses of one status are merged into one schema.

Request schemas must refuse what the service refuses (a fuzzer reads them): a string field has
``min_length``/``max_length`` and a ``pattern`` (or is an enum). When the service answers a
field's own error rather than ``validation_failed`` (a phone it cannot parse is
``invalid_phone_number``), keep the check in the handler and only document the shape with
:func:`documented_pattern`; a field that must merely not be blank is :data:`NOT_BLANK`.
``tests/contract/test_openapi.py`` walks every service's document and holds each to this.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from common.errors import AppError, InvalidInput
from common.jwt_verification import (
    InsufficientScopeError,
    SessionRevokedError,
    TokenExpiredError,
    TokenInvalidError,
    TokenMissingError,
)
from common.problem import PROBLEM_MEDIA_TYPE
from common.session_revocation import RevocationUnavailableError

ErrorSpec = type[AppError] | tuple[int, str]
Responses = dict[int | str, dict[str, Any]]

SIGNED_IN: tuple[ErrorSpec, ...] = (
    TokenMissingError,
    TokenInvalidError,
    TokenExpiredError,
    SessionRevokedError,
    RevocationUnavailableError,
)
ADMIN: tuple[ErrorSpec, ...] = (*SIGNED_IN, InsufficientScopeError)
NOT_BLANK = r"\S"  # ``Field(pattern=NOT_BLANK)``: at least one non-space character

_VALIDATION = (InvalidInput.status, InvalidInput.code)
_MEDIA_TYPE = (415, "unsupported_media_type")  # a body that is not JSON (common.problem)
_SCHEMA_NAME = "ProblemDetails"
_SCHEMA_REF = f"#/components/schemas/{_SCHEMA_NAME}"


def documented_pattern(pattern: str) -> dict[str, Any]:
    """``Field(json_schema_extra=documented_pattern(r"..."))``: the shape the handler checks
    itself (answering its own code), written into the schema."""
    return {"pattern": pattern}


def _status_code(spec: ErrorSpec) -> tuple[int, str]:
    if isinstance(spec, tuple):
        return spec
    return spec.status, spec.code


def problem_schema(codes: Iterable[str]) -> dict[str, Any]:
    return {
        "allOf": [
            {"$ref": _SCHEMA_REF},
            {"type": "object", "properties": {"code": {"type": "string", "enum": sorted(codes)}}},
        ]
    }


def _response(status: int, codes: Iterable[str]) -> dict[str, Any]:
    codes = sorted(set(codes))
    return {
        "description": ", ".join(codes),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": problem_schema(codes)}},
    }


def problems(*errors: ErrorSpec) -> Responses:
    """``responses=`` for a route: each status of ``errors`` with its problem codes."""
    by_status: dict[int, set[str]] = {}
    for spec in errors:
        status, code = _status_code(spec)
        by_status.setdefault(status, set()).add(code)
    return {status: _response(status, codes) for status, codes in sorted(by_status.items())}


def documented_codes(response: dict[str, Any]) -> set[str]:
    """The ``code`` values a documented problem response lists (empty: none)."""
    schema = response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("schema", {})
    codes: set[str] = set()
    for part in schema.get("allOf", []):
        codes.update(part.get("properties", {}).get("code", {}).get("enum", []))
    return codes


PROBLEM_COMPONENT: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; ``code`` is the stable machine-readable reason.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "retry_after": {"type": "integer", "description": "seconds (also Retry-After)"},
    },
    "additionalProperties": True,
}


def rewrite_problem_responses(
    document: dict[str, Any], every_operation: Iterable[ErrorSpec] = ()
) -> dict[str, Any]:
    """The document with problem responses as described in the module docstring (in place)."""
    always = [_status_code(spec) for spec in every_operation]
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[_SCHEMA_NAME] = PROBLEM_COMPONENT
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            if "422" in responses and not documented_codes(responses["422"]):
                del responses["422"]  # FastAPI's HTTPValidationError (ours is a 400 problem)
            extra = list(always) if path.startswith("/v1/") else []
            if operation.get("requestBody") or operation.get("parameters"):
                extra.append(_VALIDATION)
            if operation.get("requestBody"):
                extra.append(_MEDIA_TYPE)
            for status, code in extra:
                key = str(status)
                codes = documented_codes(responses.get(key, {})) | {code}
                responses[key] = _response(status, codes)
    return document


def install_problem_openapi(app: FastAPI, *, every_operation: Iterable[ErrorSpec] = ()) -> None:
    """Replaces ``app.openapi`` by one that rewrites the generated document (built once)."""
    always = tuple(every_operation)
    built: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not built:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            built.append(rewrite_problem_responses(document, always))
        app.openapi_schema = built[0]
        return built[0]

    setattr(app, "openapi", openapi)  # noqa: B010  FastAPI's documented override
