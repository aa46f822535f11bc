"""A test's own view of the analytics events a service emits: an exclusive queue bound to
``nerava.events`` for one ``analytics.<name>.vN`` type, read as envelopes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aio_pika
from aio_pika.abc import AbstractQueue
from messaging.envelope import Envelope
from messaging.topology import EVENTS_EXCHANGE


class AnalyticsTap:
    def __init__(self, queue: AbstractQueue) -> None:
        self._queue = queue

    async def next(self, *, limit_s: float = 10.0) -> Envelope:
        """The next event, or a TimeoutError after ``limit_s`` seconds."""
        async with asyncio.timeout(limit_s):
            while True:
                message = await self._queue.get(fail=False)
                if message is not None:
                    await message.ack()
                    return Envelope.from_bytes(message.body)
                await asyncio.sleep(0.05)

    async def none(self, *, within: float) -> bool:
        """True when no event at all arrives within ``within`` seconds."""
        with contextlib.suppress(TimeoutError):
            await self.next(limit_s=within)
            return False
        return True

    async def next_of(self, user_id: str, *, limit_s: float = 10.0) -> Envelope:
        """The next event of ``user_id`` (other users' events, from other tests, are skipped)."""
        async with asyncio.timeout(limit_s):
            while True:
                envelope = await self.next(limit_s=limit_s)
                if envelope.data.get("user_id") == user_id:
                    return envelope

    async def none_of(self, user_id: str, *, within: float) -> bool:
        """True when no event of ``user_id`` arrives within ``within`` seconds."""
        with contextlib.suppress(TimeoutError):
            await self.next_of(user_id, limit_s=within)
            return False
        return True


@contextlib.asynccontextmanager
async def analytics_tap(rabbitmq_url: str, message_type: str) -> AsyncIterator[AnalyticsTap]:
    """Bound before the action under test: events emitted after entering are all seen."""
    connection = await aio_pika.connect(rabbitmq_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key=message_type)
        yield AnalyticsTap(queue)
    finally:
        await connection.close()


def carries(envelope: Envelope, text: str) -> bool:
    """Whether ``text`` (a phone number's digits, a code) appears anywhere in the event."""
    return text in envelope.to_bytes().decode()
