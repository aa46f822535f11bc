"""``eventually``: the one way a test waits for something that becomes true on its own.

A background loop, a consumer or a relay acts in its own time; the test polls a check until it
passes, within a bound, and fails naming what it waited for::

    await eventually(lambda: purger_rounds("ok") >= 1, what="a successful purge round")

    async def row_ingested() -> Row:
        row = await find_row()
        assert row is not None, "no failed_messages row yet"
        return row

    row = await eventually(row_ingested, timeout=20, what="the dead letter to be ingested")

The check is a function, sync or async, of one of two kinds:

- a predicate: returns ``False`` while not yet, anything else (``True``) when done;
- an assertion block: raises ``AssertionError`` while not yet, returns when done.

It is called until it passes; ``eventually`` returns what it returned. Any other exception
ends the wait at once (a broken check is not retried). At ``timeout`` seconds (checks included)
the wait fails with an ``AssertionError`` naming ``what`` and the last failure. To wait for a
value, assert on it and return it: a predicate must return ``False``, not ``None`` or ``0``,
to mean "not yet".

No fixed sleeps elsewhere: a test sleeps only to let a duration the behaviour depends on
pass (a TTL), and says so.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

Check = Callable[[], Awaitable[T]] | Callable[[], T]


@overload
async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float = ...,  # noqa: ASYNC109 - as below
    interval: float = ...,
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T],
    *,
    what: str,
    timeout: float = ...,  # noqa: ASYNC109 - as below
    interval: float = ...,
) -> T: ...


async def eventually(
    check: Check[T],
    *,
    what: str,
    timeout: float = 10.0,  # noqa: ASYNC109 - the bound is named in the failure message
    interval: float = 0.05,
) -> T:
    """Calls ``check`` every ``interval`` seconds until it passes (module doc)."""
    if timeout <= 0 or interval <= 0:
        raise ValueError(f"timeout and interval must be > 0, got {timeout} and {interval}")
    attempts = 0
    last: AssertionError | None = None
    budget = asyncio.timeout(timeout)
    try:
        async with budget:
            while True:
                attempts += 1
                try:
                    outcome = check()
                    if inspect.isawaitable(outcome):
                        outcome = await outcome
                except AssertionError as exc:
                    last = exc
                else:
                    if outcome is not False:
                        return outcome
                    last = None
                await asyncio.sleep(interval)
    except TimeoutError:
        if not budget.expired():
            raise  # the check's own timeout: not ours to translate
        reason = f"last check failed: {last}" if last is not None else "last check was False"
        raise AssertionError(
            f"timed out after {timeout:g} s ({attempts} checks) waiting for {what}; {reason}"
        ) from last


def truthy(probe: Callable[[], Awaitable[T | None]]) -> Callable[[], Awaitable[T | bool]]:
    """Adapts a probe that returns a value once there is one (a row, a count) and ``None``,
    ``0`` or an empty result before: ``eventually(truthy(find_row), what=...)`` returns the
    first truthy value."""

    async def check() -> T | bool:
        value = await probe()
        return value if value else False

    return check
