"""One trace per user action, across every process it touches, with nothing personal in it.

Every process of the stack exports its spans to a local OTLP receiver (``tests/e2e/conftest.py``).
The driver's arrival carries the app's ``traceparent``; its trace must reach the gateway,
sessions, the outbox relay, notifications, the Twilio call and the delivery status Twilio calls
back with. The merchant's "DONE" starts at Twilio's webhook; its trace must reach sessions,
payments and the Stripe charge. Every span's parent is in the same trace (one root), and no
attribute carries a phone number or a code. The stack here is this module's own, every process
exporting its spans to this module's receiver, so nothing else the suite runs shares either.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import aiohttp
import pytest
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan, otlp_receiver
from tests.support.polling import eventually
from tests.support.story import (
    REWARD,
    Person,
    Platform,
    arrive_without_reporting,
    billed_once,
    confirm_by_sms,
    open_venue,
    the_one_arrival_sms,
)
from tests.support.system_stack import (
    SHORT_RETRIES,
    RunningStack,
    StackDidNotStart,
    running_stack,
)


@pytest.fixture(scope="module")
async def otlp() -> AsyncIterator[OtlpReceiver]:
    async with otlp_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver
) -> AsyncIterator[RunningStack]:
    tracing = {"OTLP_ENDPOINT": otlp.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    try:
        async with running_stack(
            tmp_path_factory.mktemp("traced-stack-logs"), {**SHORT_RETRIES, **tracing}
        ) as running:
            yield running
    except StackDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture
async def platform(stack: RunningStack) -> AsyncIterator[Platform]:
    async with aiohttp.ClientSession() as http:
        # The app's trace context reaches the gateway as sent: once a service app was built in
        # this test process, aiohttp clients are instrumented and would put a span of this
        # process (a trace of its own) in between.
        AioHttpClientInstrumentor.uninstrument_session(http)
        yield Platform(stack, http)


def _chain_problems(spans: list[ReceivedSpan], client_span: str = "") -> list[str]:
    """Every span's parent is in the trace, but for one root: a span without a parent, or the
    gateway's, whose parent is the app's own span (``client_span``, not exported here)."""
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_span_id or s.parent_span_id == client_span]
    orphans = [
        s
        for s in spans
        if s.parent_span_id and s.parent_span_id not in ids and s.parent_span_id != client_span
    ]
    problems = [f"{len(roots)} roots: {[(s.service, s.name) for s in roots]}"] * (len(roots) > 1)
    problems += [f"orphan {s.service} {s.name!r}" for s in orphans]
    return problems


def _secrets_in(spans: list[ReceivedSpan], secrets_: list[str]) -> list[str]:
    return [
        f"{s.service} {s.name!r} {key}"
        for s in spans
        for key, value in s.attributes.items()
        if any(secret in str(value) for secret in secrets_)
    ]


def _has(spans: list[ReceivedSpan], service: str, fragment: str) -> bool:
    return any(s.service == service and fragment in s.name for s in spans)


def _summary(spans: list[ReceivedSpan]) -> str:
    return "; ".join(f"{s.service}:{s.name}" for s in spans)


async def test_an_arrival_and_a_completion_are_each_one_trace_across_the_system(
    platform: Platform, admin: Person, otlp: OtlpReceiver
) -> None:
    venue = await open_venue(platform, admin, reward_nova=REWARD)
    driver = await platform.driver()
    session = await arrive_without_reporting(platform, driver, venue)
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{client_span}-01"
    arrival = await platform.call(
        "POST",
        f"/v1/exclusive-sessions/{session['id']}/arrival",
        driver,
        headers={"traceparent": traceparent},
    )
    arrival.expect(200)
    reply_code = await the_one_arrival_sms(platform, venue)
    await platform.session_reaches(driver, str(session["id"]), "merchant_notified")
    private = [driver.phone, venue.phone, venue.phone[1:], str(session["offer_code"]), reply_code]

    def arrival_traced() -> list[ReceivedSpan]:
        spans = otlp.trace(trace_id)
        seen = _summary(spans)
        assert _has(spans, "gateway", "POST /v1/exclusive-sessions"), seen
        assert _has(spans, "notifications", "sms status delivered"), seen
        assert _has(spans, "sessions", "/arrival"), seen
        assert _has(spans, "sessions", "notifications.sms.send.v1 publish"), seen
        assert _has(spans, "notifications", "notifications.sms.send process"), seen
        assert _has(spans, "notifications", "twilio"), seen
        assert _has(spans, "sessions", "sessions.sms_events process"), seen
        assert _chain_problems(spans, client_span) == [], seen  # every span exported
        return spans

    spans = await eventually(arrival_traced, timeout=30, what="the arrival's trace")
    assert _secrets_in(spans, private) == []

    await confirm_by_sms(platform, driver, venue, str(session["id"]))
    await billed_once(platform, venue)

    def completion_traced() -> list[ReceivedSpan]:
        traces = otlp.traces_with("notifications", "POST /v1/webhooks/twilio/sms")
        found = [otlp.trace(t) for t in traces if _has(otlp.trace(t), "payments", "stripe")]
        assert found, f"{len(traces)} reply traces, none reaching a Stripe call"
        spans = found[-1]
        seen = _summary(spans)
        assert _has(spans, "gateway", "POST /v1/webhooks/twilio"), seen
        assert _has(spans, "sessions", "sessions.sms_events process"), seen
        assert _has(spans, "payments", "payments.session_completed process"), seen
        assert _has(spans, "payments", "payments.billing.charge process"), seen
        assert _chain_problems(spans) == [], seen  # every span exported
        return spans

    spans = await eventually(completion_traced, timeout=30, what="the completion's trace")
    assert _secrets_in(spans, private) == []
