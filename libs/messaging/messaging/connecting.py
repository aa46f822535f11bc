"""A plain (non-robust) AMQP connection that is closed again when the attempt fails.

``aio_pika.connect`` leaves the half-made ``Connection`` of a failed attempt to the garbage
collector, whose ``__del__`` schedules ``close()`` on whatever loop is current (a warning, or
a leak, when collected in another thread). Loops that reconnect with backoff (outbox relay,
analytics) use this instead.
"""

from __future__ import annotations

import contextlib

import aio_pika
from aio_pika.abc import AbstractConnection
from aio_pika.connection import make_url

from messaging.broker_errors import BROKER_ERRORS


async def connect_plain(url: str, *, timeout_s: float) -> AbstractConnection:
    connection = aio_pika.Connection(make_url(url))
    try:
        await connection.connect(timeout=timeout_s)
    except BaseException:
        with contextlib.suppress(*BROKER_ERRORS):
            await connection.close()
        raise
    return connection
