"""Stripe-shaped errors: ``{"error": {"type", "code", "message", "param", "decline_code"...}}``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.core.provider import ProviderError, json_response

DOCS = "https://stripe.com/docs/error-codes"
TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    402: "card_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    429: "invalid_request_error",
}


def error_body(
    *,
    type: str,
    message: str,
    code: str | None = None,
    param: str | None = None,
    decline_code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type, "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"{DOCS}#{code.replace('_', '-')}"
    if param is not None:
        error["param"] = param
    if decline_code:
        error["decline_code"] = decline_code
    error.update(extra)
    return {"error": error}


class StripeApiError(ProviderError):
    """An answer Stripe gives as an error. ``stored``: kept under an idempotency key."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        stored: bool = True,
        **extra: Any,
    ) -> None:
        super().__init__(f"{status} {code or type}: {message}")
        self.status = status
        self.body = error_body(
            type=type or TYPES_BY_STATUS.get(status, "api_error"),
            message=message,
            code=code,
            param=param,
            decline_code=decline_code,
            **extra,
        )
        self.stored = stored

    def to_response(self) -> web.Response:
        return json_response(self.body, status=self.status)


def invalid(message: str, *, param: str, code: str = "parameter_invalid_empty") -> StripeApiError:
    """A parameter-validation failure: never stored under an idempotency key."""
    return StripeApiError(400, message, code=code, param=param, stored=False)


def missing(param: str) -> StripeApiError:
    return invalid(f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, ident: str, param: str = "id") -> StripeApiError:
    return StripeApiError(
        404, f"No such {kind}: '{ident}'", code="resource_missing", param=param, stored=False
    )


def no_such_param(kind: str, ident: str, *, param: str) -> StripeApiError:
    """A parameter naming an object that does not exist (400, never stored)."""
    return StripeApiError(
        400, f"No such {kind}: '{ident}'", code="resource_missing", param=param, stored=False
    )
