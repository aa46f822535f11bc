"""Pytest fixtures serving the fakes in-process on an ephemeral 127.0.0.1 port.

- ``fake_twilio`` -> :class:`tests.fakes.twilio.control.TwilioControl`
- ``fake_stripe`` -> :class:`tests.fakes.stripe.control.StripeControl`
- ``fake_posthog`` -> :class:`tests.fakes.posthog.control.PostHogControl`

Each server lives for the whole session; every test gets it freshly reset (state, faults,
counters, clock and configured webhook targets back to their defaults).
Registered for every test through ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.fakes.core.server import RunningFake, start
from tests.fakes.posthog.app import build_app as build_posthog_app
from tests.fakes.posthog.config import PostHogFakeConfig
from tests.fakes.posthog.control import PostHogControl
from tests.fakes.stripe.app import build_app as build_stripe_app
from tests.fakes.stripe.config import StripeFakeConfig
from tests.fakes.stripe.control import StripeControl
from tests.fakes.twilio.app import build_app as build_twilio_app
from tests.fakes.twilio.config import TwilioFakeConfig
from tests.fakes.twilio.control import TwilioControl


@pytest.fixture(scope="session")
async def fake_admin_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="session")
async def fake_twilio_server() -> AsyncIterator[RunningFake]:
    running = await start(build_twilio_app(TwilioFakeConfig()))
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def fake_twilio(
    fake_twilio_server: RunningFake, fake_admin_session: aiohttp.ClientSession
) -> AsyncIterator[TwilioControl]:
    config = TwilioFakeConfig()
    control = TwilioControl(fake_twilio_server.url, fake_admin_session, config)
    await control.reset()
    await control.configure(**config.to_json())
    yield control
    await control.reset()


@pytest.fixture(scope="session")
async def fake_stripe_server() -> AsyncIterator[RunningFake]:
    running = await start(build_stripe_app(StripeFakeConfig()))
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def fake_stripe(
    fake_stripe_server: RunningFake, fake_admin_session: aiohttp.ClientSession
) -> AsyncIterator[StripeControl]:
    config = StripeFakeConfig()
    control = StripeControl(fake_stripe_server.url, fake_admin_session, config)
    await control.configure(**config.to_json())
    await control.reset()
    yield control
    await control.reset()


@pytest.fixture(scope="session")
async def fake_posthog_server() -> AsyncIterator[RunningFake]:
    running = await start(build_posthog_app(PostHogFakeConfig()))
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def fake_posthog(
    fake_posthog_server: RunningFake, fake_admin_session: aiohttp.ClientSession
) -> AsyncIterator[PostHogControl]:
    config = PostHogFakeConfig()
    control = PostHogControl(fake_posthog_server.url, fake_admin_session, config)
    await control.reset()
    await control.configure(**config.to_json())
    yield control
    await control.reset()
