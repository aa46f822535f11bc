"""Ops: ``/v1/admin/sms-deliveries`` (filters, keyset pages, attempts and callbacks, phones
masked, admins only) and ``nerava-ops deliveries list|show`` over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from aio_pika.abc import AbstractChannel
from fastapi import FastAPI
from nerava_ops import app as cli
from typer.testing import CliRunner

from tests.fakes.twilio.control import TwilioControl
from tests.integration.messaging.test_ops_cli import gateway_prefix
from tests.integration.notifications.sms import (
    PUBLIC_BASE,
    delivery,
    post_signed,
    random_phone,
    send,
    send_command,
    status_params,
)
from tests.support.notifications_service import Notifications, SettingsFactory, running
from tests.support.polling import eventually, truthy

ADMIN = "/v1/admin/sms-deliveries"


async def settled(service: Notifications, key: str, *statuses: str) -> Any:
    async def probe() -> Any:
        row = await delivery(service, key)
        return row if row is not None and row.status in statuses else None

    return await eventually(truthy(probe), what="the service to act on it", timeout=20)


async def test_deliveries_list_filters_pages_and_masks_phones(
    notifications_settings: SettingsFactory,
    channel: AbstractChannel,
    fake_twilio: TwilioControl,
) -> None:
    phone = random_phone()
    started = datetime.now(UTC) - timedelta(seconds=1)
    async with running(notifications_settings(public_base_url=PUBLIC_BASE)) as service:
        await fake_twilio.fail_next("messages.create", status=503)
        retried = send_command(phone, reply_code="1212")
        keys = [await send(channel, retried)]
        first_row = await settled(
            service, keys[0], "accepted"
        )  # the failure was its, not another's
        keys += [await send(channel, send_command(phone)) for _ in range(2)]
        rows = [first_row] + [await settled(service, k, "accepted") for k in keys[1:]]
        await post_signed(
            service,
            "/v1/webhooks/twilio/status",
            status_params(fake_twilio, rows[0].message_sid, "delivered"),
            auth_token=fake_twilio.auth_token,
            query=f"d={rows[0].id}&n=2",
        )
        await settled(service, keys[0], "delivered")
        admin = service.admin_headers()
        params = {"since": started.isoformat(), "limit": 2}

        first = (await service.http.get(ADMIN, params=params, headers=admin)).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        rest = await service.http.get(
            ADMIN, params={**params, "cursor": first["next_cursor"]}, headers=admin
        )
        items = first["items"] + rest.json()["items"]
        assert {i["delivery_key"] for i in items} >= set(keys)
        mine = [i for i in items if i["delivery_key"] in keys]  # not other tests' late ones
        assert all(i["to"].endswith(phone[-4:]) and phone not in json.dumps(i) for i in mine)
        assert not [i for i in items if phone in json.dumps(i)]

        only = await service.http.get(
            ADMIN, params={"status": "delivered", "since": started.isoformat()}, headers=admin
        )
        [shown] = [i for i in only.json()["items"] if i["delivery_key"] == keys[0]]
        assert [a["outcome"] for a in shown["attempts"]] == ["not_sent", "accepted"]
        assert [a["http_status"] for a in shown["attempts"]] == [503, None]
        assert [(c["status"], c["applied"]) for c in shown["callbacks"]] == [("delivered", True)]

        by_reference = await service.http.get(
            ADMIN,
            params={"reference_kind": "session", "reference_id": retried.data["reference"]["id"]},
            headers=admin,
        )
        assert [i["delivery_key"] for i in by_reference.json()["items"]] == [keys[0]]

        bad = await service.http.get(ADMIN, params={"status": "lost"}, headers=admin)
        assert (bad.status_code, bad.json()["code"]) == (400, "validation_failed")
        cursor = await service.http.get(ADMIN, params={"cursor": "nonsense!"}, headers=admin)
        assert (cursor.status_code, cursor.json()["code"]) == (400, "validation_failed")
        anonymous = await service.http.get(ADMIN)
        assert anonymous.status_code == 401
        driver = {"Authorization": f"Bearer {service.keys.mint(role='driver')}"}
        assert (await service.http.get(ADMIN, headers=driver)).status_code == 403
        missing = await service.http.get(
            f"{ADMIN}/00000000-0000-4000-8000-000000000000", headers=admin
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "delivery_not_found")


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """The already started app over real HTTP (its lifespan is the test's, not uvicorn's)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


async def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    return result.exit_code, result.stdout + result.stderr


async def test_the_ops_cli_lists_and_shows_deliveries(
    notifications_settings: SettingsFactory, channel: AbstractChannel
) -> None:
    phone = random_phone()
    async with running(notifications_settings()) as service:
        key = await send(channel, send_command(phone))
        row = await settled(service, key, "accepted")
        app: FastAPI = service.app
        async with served(gateway_prefix("notifications", app)) as base:
            env = {
                "NERAVA_API": base,
                "NERAVA_TOKEN": service.keys.mint(role="admin"),
                "COLUMNS": "250",
            }
            code, output = await run_cli(
                ["deliveries", "list", "--reference", row.reference_id, "--json"], env
            )
            assert code == 0, output
            [listed] = json.loads(output)["items"]
            assert listed["delivery_key"] == key and phone not in output

            code, output = await run_cli(["deliveries", "list", "--status", "accepted"], env)
            assert code == 0 and "sms deliveries" in output and str(row.id)[:8] in output

            code, output = await run_cli(["deliveries", "show", str(row.id)], env)
            assert code == 0 and "attempts" in output and "accepted" in output
            assert phone not in output

            denied = {**env, "NERAVA_TOKEN": service.keys.mint(role="driver")}
            code, output = await run_cli(["deliveries", "list"], denied)
            assert code == 1 and "403" in output
