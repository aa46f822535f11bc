"""``uv run python -m bench.isolation``: a driver's sign-in and activation while parts of the
system fail, against the same measured healthy, in one run on one stack.

The whole system runs as processes (the supervisor of ``make run``, on a database, vhost and
Redis prefix of its own), driven through the gateway. Each driver signs in by OTP (start +
verify, timed together), takes a merchant's deal (``POST /v1/exclusive-sessions``, timed), and
the merchant redeems the code, so every driver also costs a reward and a Stripe charge
behind the scenes. Phases of the same load: ``BENCH_ISOLATION_DRIVERS`` drivers (default 500)
arriving at ``BENCH_ISOLATION_RATE`` a second (default 15: the story, with the reward and the
charge behind it, then keeps this machine about 80 % busy), with
a settle between phases, so a healthy phase does not measure the drain of what the phase
before it held back: until payments has charged every driver so far (a ``drained`` line says
how long that took), then ``BENCH_ISOLATION_SETTLE_SECONDS`` (default 15) more.

Drivers arrive open-loop, as real drivers do: at the moments of one seeded Poisson schedule,
the same in every phase, whether or not the drivers before them are done. A closed loop (a few
clients, each starting its next driver when its last is done) measures something else. It runs
the machine at saturation, where a stage's latency is mostly its wait for a core, and the
background work a driver leaves behind (the reward and the charge after a redemption, the
analytics after a sign-in) overlaps the next stages of the same client. A fault that removes
background work gives the freed time to whichever stage it overlapped: one stage reads faster
and another slower, which says nothing about whether the fault was isolated.

- ``healthy``;
- ``analytics_consumer_stopped``: the notifications process (the analytics sink's consumer)
  is frozen (SIGSTOP), so the lossy analytics queue fills while drivers sign in and activate;
- ``stripe_hanging``: the fake Stripe holds every call 30 s, so the billing worker's charges
  hang (until payments' Stripe circuit opens: the worker then holds them, one probe every
  ``STRIPE_CIRCUIT_OPEN_SECONDS``) while drivers sign in and activate.

After a warm-up, healthy and faulty phases alternate, each fault ``BENCH_ISOLATION_ROUNDS``
times (default 3): healthy, analytics stopped, healthy, Stripe hanging, healthy, and again.
Target: p50 and p99 of sign-in and activation within 1.1x of ``healthy`` under each fault. A
fault's phases are pooled and compared with the healthy phases just before and after each of
them, pooled; ``healthy_against_healthy`` compares half the healthy phases with the other half
the same way, the noise the comparison has without any fault. Each phase also prints its own
figures, the CPU seconds of every process in it (this client's, the stack's, and Postgres's,
RabbitMQ's and Redis's), the machine's busy and stolen shares, and the mean time a sign-in's
and an activation's requests spent inside their service (and a sessions request in the
gateway), next to the client's mean.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from bench.isolation.drain import charged, settled_charges, stack_database
from bench.proc import PhaseMeter
from bench.report import emit, latency_figures, ratio
from bench.server_times import Series, ServerTimes
from tests.support.story import Person, Platform, Venue, new_client_ip, new_phone, open_venue
from tests.support.system_stack import running_stack

BENCH = "isolation"
DRIVERS = int(os.environ.get("BENCH_ISOLATION_DRIVERS", "500"))  # a p99 of 5 samples
# Drivers arriving a second: a latency is measured below saturation, where it is the stack's
# and not the run queue's (at 15, this machine is about 80 % busy).
RATE = float(os.environ.get("BENCH_ISOLATION_RATE", "15"))
# One schedule of arrivals for every phase, so phases differ by the fault, not by the draw.
SCHEDULE_SEED = 15
# After the wait for every charge (drain.py), a pause more: what a frozen consumer left in its
# queues is drained too before the next phase measures.
SETTLE_SECONDS = float(os.environ.get("BENCH_ISOLATION_SETTLE_SECONDS", "15"))
# Auth's hourly SMS budget (a guard against SMS pumping) would refuse this many sign-ins.
LOAD_SETTINGS = {"OTP_SMS_BUDGET_PER_HOUR": "1000000", "OTP_SMS_BUDGET_BURST": "1000000"}
VENUES = 8
TARGET = 1.1
ROUNDS = int(os.environ.get("BENCH_ISOLATION_ROUNDS", "3"))
# The mean time a request of the story spends inside its service, and a sessions request in
# the gateway (activations and redemptions), next to the client's figures.
HTTP_SECONDS = "http_request_duration_seconds"
SERVER_SERIES: dict[str, Series] = {
    "auth_otp_start_ms": ("auth", HTTP_SECONDS, (("route", "/v1/auth/otp/start"),)),
    "auth_otp_verify_ms": ("auth", HTTP_SECONDS, (("route", "/v1/auth/otp/verify"),)),
    "sessions_activation_ms": (
        "sessions",
        HTTP_SECONDS,
        (("method", "POST"), ("route", "/v1/exclusive-sessions")),
    ),
    "gateway_to_sessions_ms": (
        "gateway",
        "gateway_request_duration_seconds",
        (("upstream", "sessions"),),
    ),
}


class Phase:
    def __init__(self) -> None:
        self.sign_in: list[float] = []
        self.activation: list[float] = []


USED: set[str] = set()


def unused(new: Callable[[], str]) -> str:
    """A phone or client address no driver of this run had: a random one repeats within a few
    thousand drivers, and two sign-ins of one phone meet its resend cooldown, of one address
    its per-address OTP limit."""
    value = new()
    while value in USED:
        value = new()
    USED.add(value)
    return value


async def one_driver(platform: Platform, venue: Venue, phase: Phase) -> None:
    phone, client = unused(new_phone), {"X-Forwarded-For": unused(new_client_ip)}
    began = time.perf_counter()
    started = await platform.call(
        "POST", "/v1/auth/otp/start", body={"phone": phone}, headers=client
    )
    challenge = started.expect(202)["challenge_id"]
    start_s = time.perf_counter() - began
    code = await platform.twilio.last_code_for(phone)  # the phone, not the user: not timed
    began = time.perf_counter()
    verified = await platform.call(
        "POST",
        "/v1/auth/otp/verify",
        body={"challenge_id": challenge, "code": code},
        headers=client,
    )
    tokens = verified.expect(200)
    phase.sign_in.append(start_s + time.perf_counter() - began)
    driver = Person(
        phone,
        tokens["user"]["id"],
        tokens["access_token"],
        tokens["refresh_token"],
        client["X-Forwarded-For"],
    )
    body = {"merchant_id": venue.merchant["id"], "charger_id": venue.charger["id"]}
    began = time.perf_counter()
    activated = await platform.call("POST", "/v1/exclusive-sessions", driver, body=body)
    phase.activation.append(time.perf_counter() - began)
    session = activated.expect(201)
    path = f"/v1/merchants/{venue.merchant['id']}/redemptions"
    redeemed = await platform.call("POST", path, venue.owner, body={"code": session["offer_code"]})
    redeemed.expect(200)


def arrival_offsets() -> list[float]:
    """Seconds from a phase's start at which each of its DRIVERS drivers arrives: a Poisson
    process of RATE a second, drawn from one seed, so every phase has the same arrivals."""
    draw = random.Random(SCHEDULE_SEED)
    offsets, now = [], 0.0
    for _ in range(DRIVERS):
        now += draw.expovariate(RATE)
        offsets.append(now)
    return offsets


async def run_phase(platform: Platform, venues: list[Venue], name: str = "warm_up") -> Phase:
    """One phase of DRIVERS drivers arriving on the schedule; prints its own figures, each
    process's CPU in it, and how late this client started drivers against the schedule (its own
    lag, which would hide load from the stack if it grew). First renews the venue owners' access
    tokens in ``venues``, which outlive a run's first ten minutes otherwise."""
    venues[:] = [replace(v, owner=await platform.refreshed(v.owner)) for v in venues]
    phase = Phase()
    children = platform.stack.supervisor.children
    meter = PhaseMeter(
        {"bench_client": os.getpid()} | {c.name: c.process.pid for c in children if c.process}
    )
    server = ServerTimes(platform.http, platform.stack.url, SERVER_SERIES)
    await server.start()
    loop = asyncio.get_running_loop()
    began = loop.time()
    drivers: list[asyncio.Task[None]] = []
    late: list[float] = []
    in_flight = most_in_flight = 0

    async def driver(i: int) -> None:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        try:
            await one_driver(platform, venues[i % len(venues)], phase)
        finally:
            in_flight -= 1

    for i, offset in enumerate(arrival_offsets()):
        await asyncio.sleep(max(0.0, began + offset - loop.time()))
        late.append(loop.time() - began - offset)
        drivers.append(asyncio.create_task(driver(i)))
    await asyncio.gather(*drivers)
    emit(
        BENCH,
        f"phase:{name}",
        seconds=round(loop.time() - began, 1),
        sign_in=latency_figures(phase.sign_in),
        activation=latency_figures(phase.activation),
        activation_mean_ms=round(statistics.fmean(phase.activation) * 1000, 2),
        server_mean=await server.figures(),
        most_drivers_in_flight=most_in_flight,
        arrival_late=latency_figures(late),
        **meter.figures(),
    )
    return phase


def pooled(*phases: Phase) -> Phase:
    """The samples of several phases as one (the healthy runs around a faulty one)."""
    joined = Phase()
    for phase in phases:
        joined.sign_in += phase.sign_in
        joined.activation += phase.activation
    return joined


def report(
    name: str, phase: Phase, healthy: Phase | None, *, judged: bool = True
) -> dict[str, Any]:
    sign_in, activation = latency_figures(phase.sign_in), latency_figures(phase.activation)
    figures: dict[str, Any] = {
        "drivers": len(phase.sign_in),
        "arrivals_per_s": RATE,
        "sign_in": sign_in,
        "activation": activation,
    }
    if healthy is not None:
        base_in, base_act = latency_figures(healthy.sign_in), latency_figures(healthy.activation)
        ratios = {
            "sign_in_p50": ratio(sign_in["p50_ms"], base_in["p50_ms"]),
            "sign_in_p99": ratio(sign_in["p99_ms"], base_in["p99_ms"]),
            "activation_p50": ratio(activation["p50_ms"], base_act["p50_ms"]),
            "activation_p99": ratio(activation["p99_ms"], base_act["p99_ms"]),
        }
        figures["healthy_around"] = {"sign_in": base_in, "activation": base_act}
        figures["ratio_to_healthy"] = ratios
        if judged:
            figures["target_met"] = all(r <= TARGET for r in ratios.values())
    return emit(BENCH, name, **figures)


async def with_frozen(pid: int, measure: Callable[[], Awaitable[Phase]]) -> Phase:
    os.kill(pid, signal.SIGSTOP)
    try:
        return await measure()
    finally:
        os.kill(pid, signal.SIGCONT)


async def main() -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-isolation-"))
    async with (
        running_stack(log_dir, LOAD_SETTINGS) as stack,
        aiohttp.ClientSession() as http,
        stack_database(stack.database_url) as database,
    ):
        platform = Platform(stack, http)
        admin = await platform.person_with_role("admin")
        venues = [await open_venue(platform, admin) for _ in range(VENUES)]
        charges, _ = await settled_charges(database)
        await run_phase(platform, venues)  # warm-up: connections, caches, JIT-less first calls
        notifications = next(c for c in stack.supervisor.children if c.name == "notifications")
        assert notifications.process is not None
        frozen_pid = notifications.process.pid

        async def analytics_stopped() -> Phase:
            return await with_frozen(
                frozen_pid, lambda: run_phase(platform, venues, "analytics_consumer_stopped")
            )

        async def stripe_hanging() -> Phase:
            await platform.stripe.hang(seconds=30.0)
            try:
                return await run_phase(platform, venues, "stripe_hanging")
            finally:
                await platform.stripe.clear_faults()

        async def settle(after: str) -> None:
            """Every driver so far charged (what ``after`` held back made), then a pause."""
            nonlocal charges
            charges += DRIVERS
            waited = await charged(database, charges)
            emit(BENCH, f"drained:{after}", charges_in_all=charges, **waited)
            await asyncio.sleep(SETTLE_SECONDS)

        # Each fault runs ROUNDS times, each time between two healthy phases; a fault's phases
        # are compared with the healthy ones around them, pooled, so a machine that drifts
        # during the run (by up to 30 % between healthy phases here) moves the baseline too.
        await settle("warm_up")
        healthy = [await run_phase(platform, venues, "healthy")]
        faulty: dict[str, list[Phase]] = {"analytics_consumer_stopped": [], "stripe_hanging": []}
        around: dict[str, list[Phase]] = {name: [] for name in faulty}
        for _ in range(ROUNDS):
            for name, measure in (
                ("analytics_consumer_stopped", analytics_stopped),
                ("stripe_hanging", stripe_hanging),
            ):
                await settle("healthy")
                faulty[name].append(await measure())
                await settle(name)
                healthy.append(await run_phase(platform, venues, "healthy"))
                around[name] += healthy[-2:]
        report("healthy", pooled(*healthy), None)
        # The comparison's own noise: half the healthy phases against the other half, the same
        # way a fault's phases are compared (no fault in either, so any distance from 1 is the
        # machine's and the run's).
        report(
            "healthy_against_healthy",
            pooled(*healthy[1::2]),
            pooled(*healthy[0::2]),
            judged=False,
        )
        verdicts = {
            name: report(name, pooled(*phases), pooled(*around[name]))["target_met"]
            for name, phases in faulty.items()
        }
        emit(
            BENCH,
            "summary",
            target_ratio=TARGET,
            rounds=ROUNDS,
            **{f"{name}_met": met for name, met in verdicts.items()},
            logs=str(log_dir),
        )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
