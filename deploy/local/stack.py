"""``make run``: the fakes and the five services on fixed local ports, until Ctrl-C or SIGTERM.

Prints what listens where once every process answers ``/healthz``. If a process dies, the whole
stack stops with a non-zero exit. Stopping leaves no process behind.

``make run OTP_PROVIDER=twilio_verify`` (``--otp-provider twilio_verify``) signs in through the
real Twilio SDK against the local fake Twilio instead of the console provider, so a Twilio
outage can be tried locally with the fake's fault knobs (``services/auth/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from deploy.local.environment import LOCAL_PORTS, OTP_PROVIDERS, local_infrastructure
from deploy.local.supervisor import StartupError, Supervisor, stack_children

logger = logging.getLogger("stack")


async def run(otp_provider: str = "console") -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    children = stack_children(LOCAL_PORTS, local_infrastructure(), otp_provider=otp_provider)
    supervisor = Supervisor(children)
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
        if otp_provider == "twilio_verify":
            fake = f"http://127.0.0.1:{LOCAL_PORTS['fake-twilio']}"
            logger.info(
                "OTP codes go to the fake Twilio: GET %s/__admin/verify/code?to=<E.164>", fake
            )
            logger.info("its faults: POST %s/__admin/faults (services/auth/README.md)", fake)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the local Nerava stack")
    parser.add_argument("--otp-provider", choices=OTP_PROVIDERS, default="console")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="stack: %(message)s")
    return asyncio.run(run(args.otp_provider))


if __name__ == "__main__":
    sys.exit(main())
