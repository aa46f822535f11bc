"""A Stripe read retried briefly in-process (tenacity): for re-fetches in webhook handlers.

A read is idempotent, so a transient failure (timeout, connection, 5xx, 429) is tried again a
couple of times within about a second before the caller's own retry (the event's queue schedule)
takes over. Never used around a POST: a POST's retry is the backbone's, with its stored key.
Credentials refused (``StripeMisconfiguredError``) and definitive answers are not retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from payments.stripe_errors import StripeMisconfiguredError, StripeTransientError

T = TypeVar("T")
READ_ATTEMPTS = 3


def _worth_retrying(exc: BaseException) -> bool:
    return isinstance(exc, StripeTransientError) and not isinstance(exc, StripeMisconfiguredError)


async def read_briefly(read: Callable[[], Awaitable[T]], *, attempts: int = READ_ATTEMPTS) -> T:
    """``await read()``, again after 0.1 s and 0.2 s when Stripe did not answer."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_worth_retrying),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.1, max=1.0),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await read()
    raise AssertionError("tenacity ended without an outcome")  # reraise=True never gets here
