"""The exceptions that mean "RabbitMQ is not reachable or refused the operation right now"."""

from __future__ import annotations

import asyncio

from aio_pika.exceptions import AMQPError, ChannelInvalidStateError
from pamqp.exceptions import PAMQPException

BROKER_ERRORS: tuple[type[BaseException], ...] = (
    AMQPError,
    ChannelInvalidStateError,
    PAMQPException,
    ConnectionError,
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
)
