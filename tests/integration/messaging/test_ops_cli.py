"""``nerava-ops dead-letters`` against a real service app served over HTTP (uvicorn), reached
through a gateway-style admin prefix ``/v1/admin/<service>/...`` -> ``/v1/admin/...``."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aio_pika.abc import AbstractChannel
from fastapi import FastAPI
from messaging.failures import PermanentError
from messaging.subscriber import Delivery, Subscriptions
from starlette.types import Receive, Scope, Send

from tests.integration.messaging.harness import publish_event
from tests.integration.messaging.service_app import demo_app, demo_settings
from tests.support.http_server import serve
from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import TestSigningKeys
from tests.support.messaging_store import Store
from tests.support.ops_cli import run_cli
from tests.support.polling import eventually
from tests.support.samples import unique


def gateway_prefix(service: str, upstream: FastAPI) -> Any:
    """Forwards ``/v1/admin/<service>/<rest>`` to the service as ``/v1/admin/<rest>``."""
    prefix = f"/v1/admin/{service}/"

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(prefix):
            path = "/v1/admin/" + scope["path"][len(prefix) :]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await upstream(scope, receive, send)

    return asgi


async def test_cli_lists_groups_shows_notes_replays_archives_through_the_admin_api(
    infra: RunInfra, store: Store, channel: AbstractChannel
) -> None:
    keys = TestSigningKeys()
    queue = unique("demo.cli.")
    event_type = f"{unique('demo.cli')}.happened.v1"
    broken = {"on": True}
    processed: list[Delivery] = []
    three = asyncio.Event()
    subs = Subscriptions()

    @subs.subscribe(queue, events=[event_type])
    async def handle(delivery: Delivery) -> None:
        if broken["on"]:
            raise PermanentError("template missing")
        processed.append(delivery)
        if len(processed) == 3:
            three.set()

    app = demo_app(demo_settings(infra, store), store, subs, keys)
    admin_id = str(uuid.uuid4())
    async with serve(gateway_prefix("demo", app), lifespan="on") as server:
        env = {
            "NERAVA_API": server.url,
            "NERAVA_TOKEN": keys.mint(role="admin", sub=admin_id),
            "NERAVA_SERVICE": "demo",
            "COLUMNS": "220",
        }
        sent = [await publish_event(channel, event_type, {"i": i}) for i in range(3)]

        async def three_listed() -> dict[str, Any]:
            code, stdout, _ = await run_cli(
                ["dead-letters", "list", "--queue", queue, "--json"], env
            )
            assert code == 0, stdout
            listing: dict[str, Any] = json.loads(stdout)
            assert listing["total"] == 3, listing
            return listing

        listing = await eventually(
            three_listed, what="3 dead letters listed by the CLI", timeout=30, interval=0.1
        )
        assert {i["message_id"] for i in listing["items"]} == {str(e.message_id) for e in sent}

        code, stdout, _ = await run_cli(["dead-letters", "list", "--queue", queue], env)
        assert code == 0 and "PermanentError" in stdout and "3 of 3" in stdout

        code, stdout, _ = await run_cli(
            ["dead-letters", "list", "--group-by", "exception_type", "--json"], env
        )
        groups = json.loads(stdout)["groups"]
        assert [(g["key"], g["count"]) for g in groups] == [
            ("messaging.failures.PermanentError", 3)
        ]

        first = listing["items"][0]["id"]
        code, stdout, _ = await run_cli(["dead-letters", "show", str(first), "--json"], env)
        assert json.loads(stdout)["headers"]["x-original-queue"] == queue
        code, stdout, _ = await run_cli(["dead-letters", "show", str(first)], env)
        assert code == 0 and "x-exception-fingerprint" in stdout

        code, stdout, _ = await run_cli(
            ["dead-letters", "note", str(first), "fixed the template", "--json"], env
        )
        assert json.loads(stdout)["notes"][0] == {
            "by": admin_id,
            "at": json.loads(stdout)["notes"][0]["at"],
            "text": "fixed the template",
        }

        code, stdout, _ = await run_cli(["dead-letters", "archive", str(first), "--yes"], env)
        assert code == 0
        code, stdout, _ = await run_cli(["dead-letters", "restore", str(first), "--json"], env)
        assert json.loads(stdout)["done"] == 1

        broken["on"] = False
        code, stdout, stderr = await run_cli(
            [
                "dead-letters",
                "replay",
                "--group-by",
                "exception_type",
                "--group-key",
                "messaging.failures.PermanentError",
                "--yes",
            ],
            env,
        )
        assert code == 0, stdout + stderr
        assert "replay" in stdout and "3" in stdout
        async with asyncio.timeout(20):
            await three.wait()

        code, stdout, _ = await run_cli(["dead-letters", "replay", str(first), "--json"], env)
        assert json.loads(stdout) == {"requested": 1, "done": 0, "skipped": 1, "failed": 0}

        bad = {**env, "NERAVA_TOKEN": keys.mint(role="driver")}
        code, _, stderr = await run_cli(["dead-letters", "list"], bad)
        assert code == 1 and "403" in stderr

    assert sorted(str(d.message_id) for d in processed) == sorted(str(e.message_id) for e in sent)
    assert all(d.replay_count == 1 and d.headers["x-replayed-by"] == admin_id for d in processed)
