"""Two copies of one send command handled at the same moment (two replicas, a redelivery racing
its original) send one SMS: on the general path the delivery row lock serializes the decision,
and the attempt number is unique per delivery; on the first-attempt statement the unique
``delivery_key`` lets only the copy that created the delivery send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from common.direct_sql import DirectStatement
from messaging.contracts import read
from messaging.failures import TransientError
from messaging.subscriber import Delivery
from notifications.contracts import SendSms
from notifications.deps import NotificationsUnitOfWork
from notifications.send_handlers import send_sms
from notifications.send_statements import FIRST_ATTEMPT
from notifications.settings import SEND_QUEUE
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fakes.twilio.control import TwilioControl
from tests.integration.notifications.sms import attempts, messages_to, random_phone, send_command
from tests.support.notifications_service import SettingsFactory, running


class MeetingUnitOfWork:
    """A unit of work whose first transaction in each task waits until every task has one open,
    and whose ``meet_at`` statement on the direct pool waits until every task is about to run it."""

    def __init__(
        self,
        inner: NotificationsUnitOfWork,
        barrier: asyncio.Barrier,
        *,
        meet_at: DirectStatement | None = None,
    ) -> None:
        self.inner = inner
        self.barrier = barrier
        self.meet_at = meet_at
        self.met: set[asyncio.Task[object] | None] = set()

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.inner() as tx:
            task = asyncio.current_task()
            if self.meet_at is None and task not in self.met:
                self.met.add(task)
                await tx.execute(text("SELECT 1"))
                await self.barrier.wait()
            yield tx

    async def direct(
        self, statement: DirectStatement, params: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        if statement is self.meet_at:
            await self.barrier.wait()
        return await self.inner.direct(statement, params)


async def test_two_concurrent_copies_of_a_command_send_one_sms(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    envelope = send_command(phone)
    command = read(envelope, SendSms)
    async with running(notifications_settings(queue_prefetch={SEND_QUEUE: 1})) as service:
        copy = Delivery(
            envelope=envelope,
            consumer=SEND_QUEUE,
            attempt=1,
            replay_count=0,
            headers={},
            deps=service.deps,
        )
        # A first try throttled by Twilio leaves the delivery pending with one attempt.
        await fake_twilio.fail_next("messages.create", status=429, code=20429)
        with pytest.raises(TransientError):
            await send_sms(service.deps, copy, command)

        barrier = asyncio.Barrier(2)
        deps = replace(service.deps, uow=MeetingUnitOfWork(service.deps.uow, barrier))
        results = await asyncio.gather(
            send_sms(deps, copy, command), send_sms(deps, copy, command), return_exceptions=True
        )

        assert len(await messages_to(fake_twilio, phone)) == 1
        outcomes = sorted(type(r).__name__ for r in results)
        assert outcomes in (["NoneType", "TransientError"], ["NoneType", "NoneType"]), results
        assert [a.outcome for a in await attempts(service, str(command.delivery_key))] == [
            "not_sent",
            "accepted",
        ]


async def test_two_concurrent_first_copies_of_a_command_send_one_sms(
    notifications_settings: SettingsFactory, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    envelope = send_command(phone)
    command = read(envelope, SendSms)
    async with running(notifications_settings(queue_prefetch={SEND_QUEUE: 1})) as service:
        first = Delivery(
            envelope=envelope,
            consumer=SEND_QUEUE,
            attempt=0,
            replay_count=0,
            headers={},
            deps=service.deps,
        )
        barrier = asyncio.Barrier(2)
        uow = MeetingUnitOfWork(service.deps.uow, barrier, meet_at=FIRST_ATTEMPT)
        deps = replace(service.deps, uow=uow)
        results = await asyncio.gather(
            send_sms(deps, first, command), send_sms(deps, first, command), return_exceptions=True
        )

        assert len(await messages_to(fake_twilio, phone)) == 1
        # The copy that did not create the delivery finds attempt 1 in flight: it retries later.
        outcomes = sorted(type(r).__name__ for r in results)
        assert outcomes in (["NoneType", "TransientError"], ["NoneType", "NoneType"]), results
        assert [a.outcome for a in await attempts(service, str(command.delivery_key))] == [
            "accepted"
        ]
