"""Turning what the stripe SDK raises into :mod:`payments.stripe_errors` (the rules are there).

stripe-python 16 raises (``stripe/_api_requestor.py``): ``CardError`` (402),
``RateLimitError`` (429, or a 400 coded ``rate_limit``), ``IdempotencyError`` (400/404 typed
``idempotency_error``), ``InvalidRequestError`` (other 400/404), ``AuthenticationError`` (401),
``PermissionError`` (403), ``APIError`` (409, 5xx, an unreadable body) and
``APIConnectionError`` for any transport failure of ``AIOHTTPClient``, whose ``__cause__`` is
the aiohttp exception. Only a failure to connect (``ClientConnectorError``, a connect timeout)
proves the request never left; every other transport failure may have reached Stripe. A body
that fails while being read after the status line escapes the SDK as a raw ``aiohttp``
exception or ``TimeoutError``: ambiguous too.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import stripe

from payments.stripe_errors import (
    StripeAmbiguousError,
    StripeCallError,
    StripeCardDeclinedError,
    StripeDefinitiveError,
    StripeIdempotencyMismatchError,
    StripeMisconfiguredError,
    StripeNotFoundError,
    StripeTransientError,
)

NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


def _error_object(exc: stripe.StripeError) -> Any:
    return getattr(exc, "error", None)


def _details(exc: stripe.StripeError, idempotency_key: str | None) -> dict[str, Any]:
    error = _error_object(exc)
    status = exc.http_status if isinstance(exc.http_status, int) else None
    code = exc.code if isinstance(exc.code, str) else None
    if code is None:  # RateLimitError and others leave ``code`` to the error body
        body_code = getattr(error, "code", None)
        code = body_code if isinstance(body_code, str) else None
    decline = getattr(error, "decline_code", None) if error is not None else None
    return {
        "idempotency_key": idempotency_key,
        "http_status": status,
        "code": code,
        "decline_code": decline if isinstance(decline, str) else None,
        "request_id": exc.request_id if isinstance(exc.request_id, str) else None,
    }


def _payment_intent_id(exc: stripe.StripeError) -> str | None:
    error = _error_object(exc)
    intent = getattr(error, "payment_intent", None) if error is not None else None
    if intent is None:
        return None
    ident = intent.get("id") if hasattr(intent, "get") else getattr(intent, "id", None)
    return ident if isinstance(ident, str) else None


def _from_stripe(exc: stripe.StripeError, operation: str, key: str | None) -> StripeCallError:
    details = _details(exc, key)
    status = details["http_status"]
    if isinstance(exc, stripe.IdempotencyError):
        return StripeIdempotencyMismatchError(
            operation, "key reused with other parameters", **details
        )
    if isinstance(exc, stripe.CardError):
        return StripeCardDeclinedError(
            operation, "card declined", payment_intent_id=_payment_intent_id(exc), **details
        )
    if isinstance(exc, stripe.RateLimitError):
        reason = "lock timeout" if details["code"] == "lock_timeout" else "rate limited"
        return StripeTransientError(operation, reason, **details)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return StripeMisconfiguredError(operation, "credentials refused", **details)
    if isinstance(exc, stripe.InvalidRequestError):
        if status == 404:
            return StripeNotFoundError(operation, "no such object", **details)
        return StripeDefinitiveError(operation, "request refused", **details)
    if isinstance(exc, stripe.APIConnectionError):
        if isinstance(exc.__cause__, NOT_SENT):
            return StripeTransientError(operation, "could not connect", **details)
        return StripeAmbiguousError(operation, "no answer (timeout or connection lost)", **details)
    if status == 409:
        return StripeAmbiguousError(operation, "a request with this key is in flight", **details)
    if status is not None and status < 500 and not isinstance(exc, stripe.APIError):
        return StripeDefinitiveError(operation, "request refused", **details)
    return StripeAmbiguousError(operation, "server error", **details)


def classify(
    exc: BaseException, *, operation: str, idempotency_key: str | None, mutating: bool
) -> StripeCallError:
    """The error to raise for ``exc``; a read's ambiguous failure is merely transient."""
    if isinstance(exc, stripe.StripeError):
        error = _from_stripe(exc, operation, idempotency_key)
    elif isinstance(exc, NOT_SENT):
        error = StripeTransientError(
            operation, "could not connect", idempotency_key=idempotency_key
        )
    elif isinstance(exc, TimeoutError | aiohttp.ClientError):
        error = StripeAmbiguousError(
            operation, "no answer (timeout or connection lost)", idempotency_key=idempotency_key
        )
    else:
        raise TypeError(f"not a Stripe call failure: {type(exc).__name__}") from exc
    if not mutating and isinstance(error, StripeAmbiguousError):
        return StripeTransientError(
            operation,
            error.reason,
            idempotency_key=idempotency_key,
            http_status=error.http_status,
            code=error.code,
            request_id=error.request_id,
        )
    return error
