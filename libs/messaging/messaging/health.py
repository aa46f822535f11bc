"""Readiness of the messaging layer: the connection *and* a live consumer on every queue.

A queue deleted (or re-created) under a running FastStream consumer silently stops consumption
while the connection stays up; a passive declare per queue reports its consumer count, and
zero consumers (or a missing queue) turns ``/readyz`` red naming the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection
from aiormq.exceptions import ChannelNotFoundEntity

from messaging.broker_errors import BROKER_ERRORS


class ConsumerCheck:
    def __init__(self, connection: AbstractRobustConnection, queues: Sequence[str]) -> None:
        self.connection = connection
        self.queues = list(queues)
        self._channel: AbstractRobustChannel | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> AbstractRobustChannel:
        if self._channel is None or self._channel.is_closed:
            channel = await self.connection.channel(publisher_confirms=False)
            assert isinstance(channel, AbstractRobustChannel)
            self._channel = channel
        return self._channel

    async def __call__(self) -> dict[str, Any]:
        if self.connection.is_closed:
            raise ConnectionError("RabbitMQ connection is closed")
        consumers: dict[str, int | str] = {}
        down: list[str] = []
        async with self._lock:
            for queue in self.queues:
                channel = await self._open()
                try:
                    declared = await channel.declare_queue(queue, passive=True, robust=False)
                except ChannelNotFoundEntity:
                    self._channel = None  # the broker closed the channel
                    consumers[queue] = "missing"
                    down.append(queue)
                    continue
                count = int(declared.declaration_result.consumer_count or 0)
                consumers[queue] = count
                if count == 0:
                    down.append(queue)
        details: dict[str, Any] = {"consumers": consumers}
        if down:
            details["status"] = "down"
            details["error"] = "no consumer on: " + ", ".join(down)
        return details

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await self._channel.close()
