"""What a failed Stripe call means for the money: the adapter's error tree.

Every failure of :class:`payments.stripe_provider.StripePaymentProvider` is one of these (the
SDK's own exceptions never leave the adapter)::

    StripeCallError
    ├── StripeDefinitiveError        Stripe answered no and will answer the same to a replay:
    │   │                            nothing happened (a payout fails with its reversal, a
    │   │                            charge is merchant.billing_failed)
    │   ├── StripeCardDeclinedError     402: declined, or authentication_required off-session
    │   └── StripeNotFoundError         404 on a read: the object does not exist
    └── StripeTransientError         not done now: retry later, same key, same stored params
        ├── StripeCircuitOpenError      not sent: Stripe has not been answering (the circuit)
        ├── StripeMisconfiguredError    401/403: our credentials; not executed, ops must act
        └── StripeAmbiguousError        Stripe may have acted: the outcome is unknown until a
            │                           same-key replay (within ~20 h) or a lookup says
            └── StripeIdempotencyMismatchError  400 idempotency_error: the key was first used
                                        with other parameters (a bug; page someone)

The split follows Stripe's idempotency rules (reference/payments.md §1.1): a 429 (rate limit,
``lock_timeout``) and a refused connection happen before anything executes, so they are
transient and not ambiguous; a read timeout, a dropped connection after the request was sent, a
5xx and a 409 ``idempotency_key_in_use`` leave the outcome unknown. A read (GET) is never
ambiguous: its failures are plain :class:`StripeTransientError`.

Each error carries the operation, our idempotency key, Stripe's HTTP status, error code,
decline code and request id; ``str()`` never holds the API key, card data or Stripe's free-text
message (which may echo parameters).
"""

from __future__ import annotations

from typing import Any

from messaging.failures import TransientError


class StripeCallError(Exception):
    """A Stripe call that did not return the object asked for."""

    may_have_acted = False

    def __init__(
        self,
        operation: str,
        reason: str,
        *,
        idempotency_key: str | None = None,
        http_status: int | None = None,
        code: str | None = None,
        decline_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        detail = ", ".join(
            f"{name}={value}"
            for name, value in (
                ("status", http_status),
                ("code", code),
                ("decline_code", decline_code),
                ("request_id", request_id),
            )
            if value is not None
        )
        super().__init__(f"stripe {operation}: {reason}" + (f" ({detail})" if detail else ""))
        self.operation = operation
        self.reason = reason
        self.idempotency_key = idempotency_key
        self.http_status = http_status
        self.code = code
        self.decline_code = decline_code
        self.request_id = request_id

    @property
    def error_code(self) -> str:
        """A stable code for rows and messages (``merchant.billing_failed.v1``'s error_code)."""
        return (
            self.decline_code
            or self.code
            or (f"http_{self.http_status}" if self.http_status else self.reason)
        )


class StripeDefinitiveError(StripeCallError):
    """Stripe refused the request; a replay with the same key gets the same answer."""


class StripeCardDeclinedError(StripeDefinitiveError):
    """The charge was declined (``code`` card_declined, expired_card, authentication_required…)."""

    def __init__(
        self,
        operation: str,
        reason: str,
        *,
        payment_intent_id: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(operation, reason, **details)
        self.payment_intent_id = payment_intent_id

    @property
    def requires_authentication(self) -> bool:
        """The customer must authenticate (3DS) on-session: no off-session retry helps."""
        return "authentication_required" in (self.code, self.decline_code)


class StripeNotFoundError(StripeDefinitiveError):
    """The object read does not exist (in this account and mode)."""


class StripeTransientError(StripeCallError, TransientError):
    """Nothing was decided; the same request may be sent again later.

    A consumer's failure middleware takes it as any :class:`TransientError`: the retry tiers,
    whatever HTTP status came with it (a 409 ``idempotency_key_in_use`` says "try again later",
    not "never")."""


class StripeMisconfiguredError(StripeTransientError):
    """Stripe refused our credentials or permissions; the request was not executed."""


class StripeAmbiguousError(StripeTransientError):
    """Stripe may have executed the request; only a replay or a lookup can tell."""

    may_have_acted = True


class StripeIdempotencyMismatchError(StripeAmbiguousError):
    """The key was first used with other parameters; the first request's outcome is unknown."""


class StripeCircuitOpenError(StripeTransientError):
    """Not sent: Stripe has not answered the last calls (:mod:`payments.stripe_circuit`).

    ``retry_after``: seconds until the circuit lets a probe through."""

    def __init__(self, operation: str, *, retry_after: float) -> None:
        super().__init__(operation, "not sent: Stripe is not answering (circuit open)")
        self.retry_after = retry_after
