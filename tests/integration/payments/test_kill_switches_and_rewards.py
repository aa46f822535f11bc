"""Kill switches (§6c F 45, 49, 50), the rewards consumer (exactly once, parked while earning
is off) and grants (§6c B16)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import aio_pika
from messaging.envelope import Envelope
from messaging.subscriber import Delivery
from payments import reward_handlers
from payments.contracts import SessionCompletedV1
from payments.kill_switch_reader import CachedKillSwitches
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.integration.payments.test_redemptions import assert_problem
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.payments_service import PaymentsClient, SettingsFactory, new_key, running, scalar


def completed(
    driver: uuid.UUID, nova: int = 15, session: uuid.UUID | None = None
) -> SessionCompletedV1:
    return SessionCompletedV1(
        session_id=session or uuid.uuid4(),
        driver_id=driver,
        merchant_id=uuid.uuid4(),
        billing_event_id=uuid.uuid4(),
        amount_minor=250,
        currency="usd",
        reward_nova=nova,
        confirmed_via="sms",
        completed_at=datetime.now(UTC),
    )


def delivery_of(event: SessionCompletedV1, message_id: uuid.UUID | None = None) -> Delivery:
    envelope = Envelope(
        message_id=message_id or uuid.uuid4(),
        type=event.message_type,
        occurred_at=datetime.now(UTC),
        producer="sessions",
        correlation_id="req-1",
        causation_id=None,
        data=event.model_dump(mode="json"),
    )
    return Delivery(envelope, "payments.session_completed", 0, 0, {}, None)


async def credited_events(db: AsyncEngine, session: uuid.UUID) -> int:
    return int(
        await scalar(
            db,
            "SELECT count(*) FROM outbox WHERE message_type='reward.credited.v1'"
            " AND convert_from(body, 'UTF8')::jsonb -> 'data' ->> 'session_id' = :s",
            s=str(session),
        )
    )


async def test_block_all_refuses_money_without_consuming_the_key(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    """§6c F45: 503 money_movement_disabled, no ledger rows, key not consumed; reads work."""
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    assert (
        await payments.set_switch("BLOCK_ALL_MONEY_MOVEMENT", True, "incident")
    ).status_code == 200
    key = new_key()
    blocked = await payments.redeem(driver, merchant, 10, key=key)
    body = assert_problem(blocked, 503, "money_movement_disabled")
    assert body["switch"] == "BLOCK_ALL_MONEY_MOVEMENT" and "Retry-After" in blocked.headers
    grant = await payments.grant(uuid.uuid4(), {"driver_id": str(driver), "nova": 5, "reason": "x"})
    assert_problem(grant, 503, "money_movement_disabled")
    assert await payments.balance(driver) == 100  # reads still answer
    assert await scalar(db, "SELECT count(*) FROM idempotency_keys WHERE key=:k", k=key) == 0
    await payments.set_switch("BLOCK_ALL_MONEY_MOVEMENT", False, "resolved")
    retry = await payments.redeem(driver, merchant, 10, key=key)
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers


async def test_redeem_switch_blocks_redeem_only(payments: PaymentsClient) -> None:
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    await payments.set_switch("NOVA_REDEEM_ENABLED", False, "merchant fraud")
    assert_problem(await payments.redeem(driver, merchant, 10), 503, "money_movement_disabled")
    grant = await payments.grant(uuid.uuid4(), {"driver_id": str(driver), "nova": 5, "reason": "x"})
    assert grant.status_code == 201
    await payments.set_switch("PAYOUTS_ENABLED", False, "stripe incident")
    await payments.set_switch("NOVA_REDEEM_ENABLED", True, "fixed")
    assert (await payments.redeem(driver, merchant, 10)).status_code == 201


async def test_unreadable_switches_fail_closed(payments: PaymentsClient) -> None:
    """§6c F49: the switch store cannot be read -> money endpoints answer 503."""
    driver = await payments.add_driver(100)
    merchant = await payments.add_merchant()
    dead = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    original = payments.deps.kill_switches
    payments.deps.kill_switches = CachedKillSwitches(dead, cache_seconds=0)
    try:
        assert_problem(await payments.redeem(driver, merchant, 10), 503, "money_movement_disabled")
    finally:
        payments.deps.kill_switches = original
        await dead.dispose()
    assert await payments.balance(driver) == 100


async def test_switch_changes_are_audited_and_listed(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    """§6c F50: who, why, when."""
    admin = uuid.uuid4()
    resp = await payments.http.put(
        "/v1/admin/kill-switches",
        json={"name": "PAYOUTS_ENABLED", "enabled": False, "reason": "bank outage"},
        headers=payments.headers(admin, "admin"),
    )
    assert resp.status_code == 200 and resp.json()["updated_by"] == str(admin)
    listing = await payments.http.get(
        "/v1/admin/kill-switches", headers=payments.headers(admin, "admin")
    )
    row = next(i for i in listing.json()["items"] if i["name"] == "PAYOUTS_ENABLED")
    assert row["enabled"] is False and row["reason"] == "bank outage"
    details = await scalar(
        db,
        "SELECT details FROM audit_log WHERE action='kill_switch.set' AND actor_id=:a",
        a=str(admin),
    )
    assert details["after"] == {"enabled": False, "reason": "bank outage"}
    unknown = await payments.http.put(
        "/v1/admin/kill-switches",
        json={"name": "EVERYTHING_OFF", "enabled": True, "reason": "x"},
        headers=payments.headers(admin, "admin"),
    )
    assert_problem(unknown, 400, "validation_failed")
    driver_try = await payments.http.get(
        "/v1/admin/kill-switches", headers=payments.headers(uuid.uuid4())
    )
    assert driver_try.status_code == 403


async def test_a_reward_is_credited_exactly_once(payments: PaymentsClient, db: AsyncEngine) -> None:
    driver = uuid.uuid4()
    event = completed(driver)
    message_id = uuid.uuid4()
    deps = payments.deps
    await reward_handlers.on_session_completed(deps, event, delivery_of(event, message_id))
    await reward_handlers.on_session_completed(deps, event, delivery_of(event, message_id))
    await reward_handlers.on_session_completed(deps, event, delivery_of(event))  # new message id
    assert await payments.balance(driver) == 15
    assert await credited_events(db, event.session_id) == 1


async def test_concurrent_duplicate_deliveries_credit_once(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    driver = uuid.uuid4()
    event = completed(driver)
    deps = payments.deps
    await asyncio.gather(
        *(reward_handlers.on_session_completed(deps, event, delivery_of(event)) for _ in range(5))
    )
    assert await payments.balance(driver) == 15
    assert await credited_events(db, event.session_id) == 1


async def test_rewards_filling_the_pool_still_read_the_switches_and_are_credited(
    payments_settings: SettingsFactory, signing_keys: TestSigningKeys, db: AsyncEngine
) -> None:
    """As many rewards at once as the pool has connections, with the switches' cache stale:
    reading the switches must not need a second connection while a reward's transaction holds
    one (each would wait for the others until the read timed out, and park its reward as if
    earning were off)."""
    settings = payments_settings(db_pool_size=2, db_max_overflow=0, kill_switch_cache_seconds=0)
    async with running(settings, signing_keys) as service:
        events = [completed(uuid.uuid4()) for _ in range(6)]
        await asyncio.gather(
            *(reward_handlers.on_session_completed(service.deps, e, delivery_of(e)) for e in events)
        )
        assert [await service.balance(e.driver_id) for e in events] == [15] * 6
    parked = await scalar(
        db,
        "SELECT count(*) FROM parked_rewards WHERE session_id = ANY(:s)",
        s=[e.session_id for e in events],
    )
    assert parked == 0


async def test_a_reward_waits_while_earning_is_off_and_is_applied_once(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    driver = uuid.uuid4()
    event = completed(driver, nova=20)
    deps = payments.deps
    await payments.set_switch("NOVA_EARN_ENABLED", False, "reward bug")
    await reward_handlers.on_session_completed(deps, event, delivery_of(event))
    assert await payments.balance(driver) == 0
    parked = await payments.http.get(
        "/v1/admin/parked-rewards", headers=payments.headers(uuid.uuid4(), "admin")
    )
    assert str(event.session_id) in [i["session_id"] for i in parked.json()["items"]]
    assert await reward_handlers.apply_parked_rewards(deps, batch=100) == 0  # still off
    await payments.set_switch("NOVA_EARN_ENABLED", True, "fixed")
    await reward_handlers.apply_parked_rewards(deps, batch=1000)
    await reward_handlers.apply_parked_rewards(deps, batch=1000)
    await reward_handlers.on_session_completed(deps, event, delivery_of(event))  # redelivery
    assert await payments.balance(driver) == 20
    assert await credited_events(db, event.session_id) == 1
    applied = await scalar(
        db,
        "SELECT applied_at IS NOT NULL FROM parked_rewards WHERE session_id=:s",
        s=event.session_id,
    )
    assert applied is True


async def test_a_published_session_completed_reaches_the_wallet(
    payments: PaymentsClient, db: AsyncEngine, infra: RunInfra
) -> None:
    """Through RabbitMQ: the real consumer credits and the relay publishes reward.credited.v1."""
    driver = uuid.uuid4()
    event = completed(driver, nova=7)
    delivery = delivery_of(event)
    connection = await aio_pika.connect(infra.rabbitmq_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange("nerava.events")
        await exchange.publish(
            aio_pika.Message(
                delivery.envelope.to_bytes(),
                message_id=str(delivery.message_id),
                content_type="application/json",
            ),
            routing_key=event.message_type,
        )
    finally:
        await connection.close()
    sent_sql = (
        "SELECT bool_and(sent_at IS NOT NULL) FROM outbox"
        " WHERE message_type='reward.credited.v1'"
        " AND convert_from(body,'UTF8')::jsonb -> 'data' ->> 'session_id' = :s"
    )
    for _ in range(200):  # the consumer and the relay work in the background
        if await payments.balance(driver) == 7 and await scalar(
            db, sent_sql, s=str(event.session_id)
        ):
            break
        await asyncio.sleep(0.1)
    assert await payments.balance(driver) == 7
    assert await scalar(db, sent_sql, s=str(event.session_id)) is True


async def test_grants_follow_the_idempotency_rules(
    payments: PaymentsClient, db: AsyncEngine
) -> None:
    """§6c B16: same admin + key -> one grant; another admin with the same key -> a second."""
    driver = await payments.add_driver()
    body = {"driver_id": str(driver), "nova": 40, "reason": "goodwill"}
    admin_a, admin_b = uuid.uuid4(), uuid.uuid4()
    key = new_key()
    first = await payments.grant(admin_a, body, key=key)
    again = await payments.grant(admin_a, body, key=key)
    other = await payments.grant(admin_b, body, key=key)
    assert first.status_code == again.status_code == other.status_code == 201
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert "idempotent-replayed" not in other.headers
    assert await payments.balance(driver) == 80
    changed = await payments.grant(admin_a, {**body, "nova": 41}, key=key)
    assert_problem(changed, 409, "idempotency_key_reused")
    audits = await scalar(
        db,
        "SELECT count(*) FROM audit_log WHERE action='admin.grant' AND details->>'driver_id'=:d",
        d=str(driver),
    )
    assert audits == 2


async def test_grants_reject_unknown_targets_and_bad_bodies(payments: PaymentsClient) -> None:
    admin = uuid.uuid4()
    unknown = await payments.grant(
        admin, {"driver_id": str(uuid.uuid4()), "nova": 1, "reason": "x"}
    )
    assert_problem(unknown, 404, "driver_not_found")
    nomerchant = await payments.grant(
        admin, {"merchant_id": str(uuid.uuid4()), "nova": 1, "reason": "x"}
    )
    assert_problem(nomerchant, 404, "merchant_not_found")
    both = await payments.grant(
        admin,
        {
            "driver_id": str(uuid.uuid4()),
            "merchant_id": str(uuid.uuid4()),
            "nova": 1,
            "reason": "x",
        },
    )
    assert_problem(both, 400, "validation_failed")
    merchant = await payments.add_merchant()
    ok = await payments.grant(admin, {"merchant_id": str(merchant), "nova": 3, "reason": "promo"})
    assert ok.status_code == 201 and ok.json()["balance"] == 3
    driver = await payments.add_driver()
    not_admin = await payments.http.post(
        "/v1/admin/grants",
        json={"driver_id": str(driver), "nova": 1, "reason": "x"},
        headers=payments.headers(driver, "driver", new_key()),
    )
    assert not_admin.status_code == 403
