"""Postgres unreachable: every route answers 503 dependency_unavailable, never a user error."""

from __future__ import annotations

import uuid

from tests.support.jwt_tokens import TestSigningKeys
from tests.support.sessions_service import SettingsFactory, running


async def test_an_unreachable_database_is_a_503_not_a_user_error(
    sessions_settings: SettingsFactory, signing_keys: TestSigningKeys
) -> None:
    settings = sessions_settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:9/nerava", db_pool_size=1
    )
    async with running(settings, signing_keys) as down:
        driver = down.actor("driver")
        for method, path, actor, body in (
            ("GET", "/v1/chargers/nearby?lat=1&lng=2", driver, None),
            (
                "POST",
                "/v1/exclusive-sessions",
                driver,
                {"merchant_id": str(uuid.uuid4()), "charger_id": str(uuid.uuid4())},
            ),
            ("GET", f"/v1/exclusive-sessions/{uuid.uuid4()}", driver, None),
            ("GET", "/v1/admin/merchants", down.admin, None),
        ):
            resp = await down.call(method, path, actor, json=body)
            assert resp.status_code == 503, (path, resp.status_code, resp.text)
            assert resp.json()["code"] == "dependency_unavailable"
            assert "retry-after" in resp.headers
