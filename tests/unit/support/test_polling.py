"""``eventually``: predicates and assertion blocks, sync and async, bounded, clear on failure."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.polling import eventually


async def test_a_predicate_is_polled_until_true() -> None:
    calls: list[int] = []

    def third_time() -> bool:
        calls.append(1)
        return len(calls) == 3

    assert await eventually(third_time, what="the third call", interval=0.01) is True
    assert len(calls) == 3


async def test_an_async_assertion_block_returns_its_value_once_it_passes() -> None:
    seen: list[str] = []

    async def second_value() -> str:
        seen.append("x")
        assert len(seen) >= 2, "only one value yet"
        return "done"

    assert await eventually(second_value, what="a second value", interval=0.01) == "done"
    assert seen == ["x", "x"]


async def test_an_assertion_block_returning_none_passes() -> None:
    def passes() -> None:
        assert True

    assert await eventually(passes, what="nothing") is None


async def test_the_timeout_names_what_was_awaited_and_the_last_failure() -> None:
    def never() -> None:
        raise AssertionError("queue depth is 0")

    with pytest.raises(AssertionError) as failure:
        await eventually(never, what="a message in the DLQ", timeout=0.2, interval=0.05)
    message = str(failure.value)
    assert "timed out after 0.2 s" in message
    assert "waiting for a message in the DLQ" in message
    assert "queue depth is 0" in message
    assert isinstance(failure.value.__cause__, AssertionError)


async def test_a_false_predicate_times_out_with_its_reason() -> None:
    with pytest.raises(AssertionError, match="waiting for the flag; last check was False"):
        await eventually(lambda: False, what="the flag", timeout=0.1, interval=0.02)


async def test_the_bound_includes_a_check_that_hangs() -> None:
    async def hangs() -> bool:
        await asyncio.Event().wait()
        return True

    with pytest.raises(AssertionError, match="waiting for a hung check"):
        await eventually(hangs, what="a hung check", timeout=0.1)


async def test_other_errors_end_the_wait_at_once() -> None:
    calls: list[int] = []

    def broken() -> bool:
        calls.append(1)
        raise KeyError("no such row")

    with pytest.raises(KeyError):
        await eventually(broken, what="a row", timeout=5)
    assert calls == [1]


async def test_the_checks_own_timeout_is_not_mistaken_for_the_bound() -> None:
    async def times_out() -> bool:
        raise TimeoutError("the broker did not answer")

    with pytest.raises(TimeoutError, match="the broker did not answer"):
        await eventually(times_out, what="the broker", timeout=5)
