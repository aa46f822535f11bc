"""A publishing channel of its own (separate connection from consumers), confirms always on.

Used by the retry/DLQ middleware and by replays: ``publish`` returns only after RabbitMQ
confirmed the message, and an unroutable ``mandatory`` publish raises instead of vanishing.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from messaging.broker_errors import BROKER_ERRORS


class ConfirmedPublisher:
    def __init__(self, amqp_url: str, *, name: str, timeout_s: float = 10.0) -> None:
        self.amqp_url = amqp_url
        self.name = name
        self.timeout_s = timeout_s
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self.amqp_url,
            timeout=self.timeout_s,
            client_properties={"connection_name": self.name},
        )

    async def _open_channel(self) -> AbstractChannel:
        async with self._lock:
            if self._channel is None or self._channel.is_closed:
                if self._connection is None:
                    await self.connect()
                assert self._connection is not None
                self._channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                self._exchanges = {}
            return self._channel

    async def publish(
        self,
        *,
        exchange: str,
        routing_key: str,
        body: bytes,
        headers: dict[str, Any],
        message_id: str | None,
        correlation_id: str | None = None,
        message_type: str | None = None,
        content_type: str | None = "application/json",
        app_id: str | None = None,
        timestamp: Any = None,
        mandatory: bool = True,
    ) -> None:
        channel = await self._open_channel()
        if exchange == "":
            target = channel.default_exchange
        else:
            target = self._exchanges.get(exchange) or await channel.get_exchange(
                exchange, ensure=False
            )
            self._exchanges[exchange] = target
        message = aio_pika.Message(
            body,
            headers=headers,
            message_id=message_id,
            correlation_id=correlation_id,
            type=message_type,
            content_type=content_type,
            app_id=app_id,
            timestamp=timestamp,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        async with asyncio.timeout(self.timeout_s):
            await target.publish(message, routing_key=routing_key, mandatory=mandatory)

    async def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await connection.close()
