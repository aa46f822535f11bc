"""``make run``: the fakes and the five services on fixed local ports, until Ctrl-C or SIGTERM.

Prints what listens where once every process answers ``/healthz``. If a process dies, the whole
stack stops with a non-zero exit. Stopping leaves no process behind.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from deploy.local.environment import LOCAL_PORTS, local_infrastructure
from deploy.local.supervisor import StartupError, Supervisor, stack_children

logger = logging.getLogger("stack")


async def run() -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    supervisor = Supervisor(stack_children(LOCAL_PORTS, local_infrastructure()))
    exit_code = 0
    try:
        starting = asyncio.create_task(supervisor.start())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([starting, stopper], return_when=asyncio.FIRST_COMPLETED)
        if stopper.done():
            starting.cancel()
            return 0
        await starting
        logger.info("the Nerava stack is up:")
        for child in supervisor.children:
            logger.info("  %-14s %s", child.name, child.url)
        logger.info(
            "gateway, the public entrypoint: http://127.0.0.1:%d  (Ctrl-C stops all)",
            LOCAL_PORTS["gateway"],
        )
        dead = asyncio.create_task(supervisor.wait_any_exit())
        await asyncio.wait([dead, stopper], return_when=asyncio.FIRST_COMPLETED)
        if dead.done():
            child = dead.result()
            assert child.process is not None
            logger.error(
                "%s exited with %s; stopping the stack", child.name, child.process.returncode
            )
            exit_code = 1
        dead.cancel()
        stopper.cancel()
    except StartupError as exc:
        logger.error("%s", exc)
        exit_code = 1
    finally:
        await supervisor.stop()
        logger.info("stopped")
    return exit_code


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="stack: %(message)s")
    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
