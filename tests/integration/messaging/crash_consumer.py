"""A consumer process whose handler kills the process on every delivery (a crash loop).

Run as ``python -m tests.integration.messaging.crash_consumer <amqp_url> <queue> <limit>``.
"""

from __future__ import annotations

import asyncio
import os
import sys

from messaging.runtime import ConsumerRuntime
from messaging.settings import MessagingSettings
from messaging.subscriber import Delivery, Subscriptions


async def main(url: str, queue: str, limit: int) -> None:
    subs = Subscriptions()

    @subs.subscribe(queue)
    async def crash(delivery: Delivery) -> None:
        os._exit(3)  # the process dies holding the delivery: no ack, no nack

    settings = MessagingSettings(
        rabbitmq_url=url,
        service_name="crasher",
        retry_tiers=["1s"],
        retry_default_schedule=["1s"],
        queue_delivery_limits={queue: limit},
    )
    runtime = ConsumerRuntime(settings, subs.items, deps=None)
    await runtime.start()
    # stays up to consume: the first delivery ends the process long before; 60 s is its own
    # bound, so a process that never gets one exits instead of outliving the test
    await asyncio.sleep(60)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
