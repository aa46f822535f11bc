"""Dead letters for ops through a real service app: DLQ -> failed_messages, groups, replay of
one / a group / a filter with headers reset and counted, no-op on resolved rows, archive,
restore, notes, admin only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
from aio_pika.abc import AbstractChannel
from messaging.dead_letters.repository import DeadLetterRepository
from messaging.dead_letters.selection import Status
from messaging.failures import PermanentError
from messaging.subscriber import Delivery, Subscriptions

from tests.integration.messaging.harness import publish_event
from tests.integration.messaging.service_app import demo_app, demo_settings, serving
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.messaging_store import Store
from tests.support.polling import eventually
from tests.support.samples import unique

API = "/v1/admin/dead-letters"


class Broken(ValueError):
    pass


async def wait_for_rows(
    client: httpx.AsyncClient, headers: dict[str, str], count: int, **params: Any
) -> list[dict[str, Any]]:
    async def listed() -> list[dict[str, Any]]:
        resp = await client.get(API, params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        assert resp.json()["total"] >= count, resp.json()
        return list(resp.json()["items"])

    return await eventually(
        listed, what=f"{count} dead letters listed ({params})", timeout=30, interval=0.1
    )


async def test_dead_letters_grouped_replayed_once_each_and_resolved_rows_are_no_ops(
    infra: RunInfra, store: Store, channel: AbstractChannel
) -> None:
    keys = TestSigningKeys()
    admin_id = str(uuid.uuid4())
    admin = keys.mint(role="admin", sub=admin_id)
    auth = {"Authorization": f"Bearer {admin}"}
    queue = unique("demo.dl.")
    event_type = f"{unique('demo.dl')}.happened.v1"
    broken = {"on": True}
    processed: list[Delivery] = []
    all_processed = asyncio.Event()
    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def handle(delivery: Delivery) -> None:
        if broken["on"]:
            if delivery.envelope.data["kind"] == "permanent":
                raise PermanentError("merchant has no phone")
            raise Broken("template missing")
        processed.append(delivery)
        if len(processed) == 5:
            all_processed.set()

    settings = demo_settings(infra, store, retry_schedules={queue: []})
    async with serving(demo_app(settings, store, subs, keys)) as client:
        r0 = await client.get(API)
        assert r0.status_code == 401, r0.text
        driver = keys.mint(role="driver")
        forbidden = await client.get(API, headers={"Authorization": f"Bearer {driver}"})
        assert forbidden.status_code == 403

        sent = [
            await publish_event(channel, event_type, {"kind": "permanent", "i": i})
            for i in range(3)
        ]
        sent += [
            await publish_event(channel, event_type, {"kind": "bug", "i": i}) for i in range(2)
        ]
        rows = await wait_for_rows(client, auth, 5, queue=queue)
        assert {r["message_id"] for r in rows} == {str(e.message_id) for e in sent}

        groups = (
            await client.get(f"{API}/groups", params={"by": "exception_type"}, headers=auth)
        ).json()
        counts = {g["key"]: g["count"] for g in groups["groups"]}
        broken_type = f"{Broken.__module__}.Broken"
        assert counts == {"messaging.failures.PermanentError": 3, broken_type: 2}
        assert all(g["first_seen"] and g["last_seen"] for g in groups["groups"])

        permanent_rows = [r for r in rows if r["failure_kind"] == "permanent"]
        one = permanent_rows[0]
        shown = (await client.get(f"{API}/{one['id']}", headers=auth)).json()
        assert shown["headers"]["x-failure-kind"] == "permanent"
        assert shown["headers"]["x-original-queue"] == queue
        assert '"kind":"permanent"' in shown["body"]

        broken["on"] = False
        result = (await client.post(f"{API}/{one['id']}/replay", headers=auth)).json()
        assert result["replayed"] == 1 and result["skipped"] == 0
        again = (await client.post(f"{API}/{one['id']}/replay", headers=auth)).json()
        assert again["replayed"] == 0 and again["skipped"] == 1  # resolved: a no-op

        group = await client.post(
            f"{API}/replay",
            json={"group_by": "exception_type", "group_key": broken_type},
            headers=auth,
        )
        assert group.json()["replayed"] == 2
        by_filter = await client.post(
            f"{API}/replay",
            json={"filter": {"queue": queue, "status": "unresolved"}},
            headers=auth,
        )
        assert by_filter.json()["replayed"] == 2

        async with asyncio.timeout(20):
            await all_processed.wait()
        unresolved = (await client.get(API, params={"status": "unresolved"}, headers=auth)).json()
        resolved = (await client.get(API, params={"status": "resolved"}, headers=auth)).json()

    assert sorted(str(d.message_id) for d in processed) == sorted(str(e.message_id) for e in sent)
    for delivery in processed:
        assert delivery.replay_count == 1
        assert (
            delivery.headers["x-replayed-by"] == keys.claims()["sub"]
            or delivery.headers["x-replayed-by"]
        )
        assert "x-exception-type" not in delivery.headers
        assert "x-retry-attempt" not in delivery.headers
        assert delivery.attempt == 0
    assert unresolved["total"] == 0
    assert resolved["total"] == 5
    assert all(r["replay_count"] == 1 for r in resolved["items"])


async def test_archive_restore_notes_and_problem_responses(
    infra: RunInfra, store: Store, channel: AbstractChannel
) -> None:
    keys = TestSigningKeys()
    auth = {"Authorization": f"Bearer {keys.mint(role='admin')}"}
    queue = unique("demo.arc.")
    event_type = f"{unique('demo.arc')}.happened.v1"
    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def handle(delivery: Delivery) -> None:
        raise PermanentError("no")

    async with serving(demo_app(demo_settings(infra, store), store, subs, keys)) as client:
        await publish_event(channel, event_type, {"i": 1})
        [row] = await wait_for_rows(client, auth, 1, queue=queue)
        archived = await client.post(f"{API}/archive", json={"ids": [row["id"]]}, headers=auth)
        assert archived.json()["changed"] == 1
        skipped = (await client.post(f"{API}/{row['id']}/replay", headers=auth)).json()
        assert skipped["skipped"] == 1 and skipped["replayed"] == 0
        restored = await client.post(f"{API}/restore", json={"ids": [row["id"]]}, headers=auth)
        assert restored.json()["changed"] == 1
        noted = await client.post(
            f"{API}/{row['id']}/notes", json={"text": "merchant fixed"}, headers=auth
        )
        assert noted.json()["notes"][0]["text"] == "merchant fixed"
        assert noted.json()["status"] == "unresolved"

        missing = await client.get(f"{API}/999999999", headers=auth)
        assert missing.status_code == 404 and missing.json()["code"] == "dead_letter_not_found"
        empty = await client.post(
            f"{API}/replay", json={"filter": {"status": "unresolved"}}, headers=auth
        )
        assert empty.status_code == 400 and empty.json()["code"] == "validation_failed"
        both_kinds = await client.post(
            f"{API}/replay", json={"ids": [1], "filter": {"queue": queue}}, headers=auth
        )
        assert both_kinds.status_code == 400

    repository = DeadLetterRepository(store.engine, store.tables.failed_messages)
    assert await repository.purge_settled(older_than=timedelta(0)) == 0  # unresolved: kept
    await repository.set_status([row["id"]], from_=Status.UNRESOLVED, to=Status.ARCHIVED)
    assert await repository.purge_settled(older_than=timedelta(0)) == 1  # archived: retention
