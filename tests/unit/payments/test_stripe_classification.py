"""Every failure the stripe SDK can raise maps to one meaning for the money (stripe_errors)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
import stripe
from messaging.failures import FailureKind
from messaging.failures import classify as consumer_classify
from payments.stripe_classification import classify
from payments.stripe_errors import (
    StripeAmbiguousError,
    StripeCallError,
    StripeCardDeclinedError,
    StripeCircuitOpenError,
    StripeDefinitiveError,
    StripeIdempotencyMismatchError,
    StripeMisconfiguredError,
    StripeNotFoundError,
    StripeTransientError,
)

KEY = "payout:0b7c"


def body(**error: Any) -> tuple[str, dict[str, Any]]:
    payload = {"error": error}
    return json.dumps(payload), payload


def card_error(code: str, decline: str) -> stripe.CardError:
    raw, payload = body(
        type="card_error",
        code=code,
        decline_code=decline,
        message="Your card was declined.",
        payment_intent={"id": "pi_123", "object": "payment_intent"},
    )
    return stripe.CardError("Your card was declined.", "", code, raw, 402, payload, {})


def api_error(status: int, code: str | None = None) -> stripe.APIError:
    raw, payload = body(type="api_error", code=code, message="x")
    return stripe.APIError("x", raw, status, payload, {"request-id": "req_1"})


def connection_error(cause: BaseException) -> stripe.APIConnectionError:
    error = stripe.APIConnectionError("Network error", should_retry=True)
    error.__cause__ = cause
    return error


def of(exc: BaseException, *, mutating: bool = True) -> StripeCallError:
    return classify(exc, operation="transfers.create", idempotency_key=KEY, mutating=mutating)


def test_declines_are_definitive_with_their_codes() -> None:
    declined = of(card_error("card_declined", "insufficient_funds"))
    assert isinstance(declined, StripeCardDeclinedError)
    assert (declined.code, declined.decline_code, declined.http_status) == (
        "card_declined",
        "insufficient_funds",
        402,
    )
    assert declined.payment_intent_id == "pi_123" and not declined.requires_authentication
    assert declined.error_code == "insufficient_funds" and declined.idempotency_key == KEY
    auth = of(card_error("authentication_required", "authentication_required"))
    assert isinstance(auth, StripeCardDeclinedError) and auth.requires_authentication


@pytest.mark.parametrize("code", ["balance_insufficient", "parameter_missing", None])
def test_refused_requests_are_definitive(code: str | None) -> None:
    raw, payload = body(type="invalid_request_error", code=code, message="no")
    error = of(stripe.InvalidRequestError("no", "amount", code, raw, 400, payload))
    assert type(error) is StripeDefinitiveError and error.code == code
    assert not error.may_have_acted


def test_a_missing_object_is_not_found() -> None:
    raw, payload = body(type="invalid_request_error", code="resource_missing", message="no")
    error = of(stripe.InvalidRequestError("no", "id", "resource_missing", raw, 404, payload))
    assert isinstance(error, StripeNotFoundError)


@pytest.mark.parametrize("code", ["rate_limit", "lock_timeout"])
def test_429s_never_executed(code: str) -> None:
    raw, payload = body(type="invalid_request_error", code=code, message="slow down")
    error = of(stripe.RateLimitError("slow down", raw, 429, payload, {}))
    assert type(error) is StripeTransientError and error.code == code
    assert not error.may_have_acted


@pytest.mark.parametrize("cls", [stripe.AuthenticationError, stripe.PermissionError])
def test_credentials_are_misconfiguration(cls: type[stripe.StripeError]) -> None:
    raw, payload = body(type="invalid_request_error", message="Invalid API Key provided: sk_t***")
    error = of(cls("Invalid API Key provided: sk_t***", raw, 401, payload, {}))
    assert isinstance(error, StripeMisconfiguredError) and not error.may_have_acted
    assert "sk_t" not in str(error)


def test_a_reused_key_is_an_ambiguous_mismatch() -> None:
    raw, payload = body(type="idempotency_error", message="Keys for idempotent requests...")
    error = of(stripe.IdempotencyError("Keys for idempotent requests...", raw, 400, payload, {}))
    assert isinstance(error, StripeIdempotencyMismatchError) and error.may_have_acted


@pytest.mark.parametrize(
    ("status", "code"), [(500, None), (502, None), (409, "idempotency_key_in_use")]
)
def test_server_errors_and_conflicts_may_have_acted(status: int, code: str | None) -> None:
    error = of(api_error(status, code))
    assert isinstance(error, StripeAmbiguousError) and error.http_status == status
    assert error.request_id == "req_1"


def test_an_unreadable_answer_is_ambiguous() -> None:
    error = of(stripe.APIError("Invalid response body from API", "<html>", 200))
    assert isinstance(error, StripeAmbiguousError)


def test_only_a_failed_connect_proves_nothing_was_sent() -> None:
    assert type(of(connection_error(aiohttp.ConnectionTimeoutError()))) is StripeTransientError
    for cause in (
        aiohttp.ServerDisconnectedError(),
        aiohttp.SocketTimeoutError(),
        TimeoutError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
    ):
        assert isinstance(of(connection_error(cause)), StripeAmbiguousError)


def test_failures_outside_the_sdk() -> None:
    assert isinstance(of(TimeoutError()), StripeAmbiguousError)  # our own deadline
    assert isinstance(of(aiohttp.ClientPayloadError("cut")), StripeAmbiguousError)
    assert type(of(aiohttp.ConnectionTimeoutError())) is StripeTransientError
    with pytest.raises(TypeError):
        of(ValueError("a bug, not a Stripe failure"))


def test_a_read_is_never_ambiguous() -> None:
    for exc in (
        api_error(500),
        TimeoutError(),
        connection_error(aiohttp.ServerDisconnectedError()),
    ):
        error = of(exc, mutating=False)
        assert type(error) is StripeTransientError and not error.may_have_acted


@pytest.mark.parametrize(
    "error",
    [
        StripeAmbiguousError(
            "payment_intents.create",
            "a request with this key is in flight",
            http_status=409,
            code="idempotency_key_in_use",
        ),
        StripeMisconfiguredError("payment_intents.create", "credentials refused", http_status=401),
        StripeCircuitOpenError("payment_intents.create", retry_after=7.5),
    ],
)
def test_a_consumer_retries_every_transient_stripe_failure_whatever_its_status(
    error: StripeTransientError,
) -> None:
    """The failure middleware reads a 4xx status as "never" (the DLQ at once); Stripe's
    transient ones say "not now": a 409 on a key in flight above all."""
    classified = consumer_classify(error)
    assert classified.kind is FailureKind.TRANSIENT
    assert classified.retry_after == (7.5 if isinstance(error, StripeCircuitOpenError) else None)
