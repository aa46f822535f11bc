"""Reads what reached a queue on the real broker (bounded waits, no sleeps)."""

from __future__ import annotations

import asyncio
import contextlib

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage


async def take(
    channel: AbstractChannel, queue: str, count: int, *, limit_s: float = 20.0
) -> list[AbstractIncomingMessage]:
    """Consumes ``count`` messages (acking them) or fails after ``limit_s`` seconds."""
    q = await channel.get_queue(queue, ensure=False)
    got: list[AbstractIncomingMessage] = []
    async with asyncio.timeout(limit_s):
        async with q.iterator() as it:
            async for message in it:
                await message.ack()
                got.append(message)
                if len(got) >= count:
                    break
    return got


async def depth(channel: AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    count = declared.declaration_result.message_count
    return int(count or 0)


async def drain_nothing(channel: AbstractChannel, queue: str, *, within: float = 1.0) -> int:
    """How many messages arrive within ``within`` seconds (used to prove that none do)."""
    q = await channel.get_queue(queue, ensure=False)
    n = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            async with q.iterator() as it:
                async for message in it:
                    await message.ack()
                    n += 1
    return n
