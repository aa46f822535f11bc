"""The first connection to RabbitMQ at startup, waiting a bounded time for the broker.

A service started while RabbitMQ restarts (a deploy, a crash and its restart during a broker
outage) waits for it — backing off, logging each refusal — instead of failing its startup at the
first refused connection; only after ``BROKER_CONNECT_WAIT_SECONDS`` does startup fail, and the
process manager restarts it. A broker that goes away after this first connection but before the
service is up makes ``open_messaging`` start messaging again, within the same wait. Later
outages are the robust connection's to survive.
"""

from __future__ import annotations

import asyncio
import logging

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from messaging.broker_errors import BROKER_ERRORS
from messaging.settings import MessagingSettings

logger = logging.getLogger(__name__)


async def connect_waiting(settings: MessagingSettings, name: str) -> AbstractRobustConnection:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.broker_connect_wait_seconds
    backoff = 0.25
    while True:
        try:
            return await aio_pika.connect_robust(
                settings.rabbitmq_url,
                timeout=settings.publish_timeout_seconds,
                client_properties={"connection_name": name},
            )
        except BROKER_ERRORS as exc:
            left = deadline - loop.time()
            if left <= 0:
                raise
            logger.warning(
                "RabbitMQ not reachable at startup; waiting",
                extra={"error": type(exc).__name__, "seconds_left": round(left, 1)},
            )
            await asyncio.sleep(min(backoff, left))
            backoff = min(backoff * 2, 5.0)
