"""Merchants: admin create/update with validation; the owner, and only the owner, reads the
merchant and changes its notification phone (P0-11); phones encrypted at rest, shown masked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.sessions_service import (
    SessionsService,
    outbox_data,
    random_phone,
    random_spot,
)


def _body(owner: uuid.UUID, **fields: Any) -> dict[str, Any]:
    lat, lng = random_spot()
    return {
        "owner_user_id": str(owner),
        "name": "Bakery",
        "lat": lat,
        "lng": lng,
        "notification_phone": random_phone(),
        "offer_title": "Croissant",
        "billing_amount_minor": 300,
        "currency": "USD",
        "reward_nova": 5,
        **fields,
    }


async def _merchant_count(db: AsyncEngine, owner: uuid.UUID) -> int:
    async with db.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM merchants WHERE owner_user_id = :o"), {"o": owner}
        )
    return int(count or 0)


async def test_created_merchant_has_an_encrypted_phone_and_an_event(
    service: SessionsService, db: AsyncEngine
) -> None:
    owner = service.actor("merchant")
    body = _body(owner.user_id)
    resp = await service.call("POST", "/v1/admin/merchants", service.admin, json=body)
    assert resp.status_code == 201, resp.text
    merchant = resp.json()
    phone = body["notification_phone"]
    assert merchant["notification_phone_masked"] == "+1******" + phone[-4:]
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT phone_ciphertext, phone_hash FROM merchants WHERE id = :id"),
                {"id": merchant["id"]},
            )
        ).one()
    assert phone.encode() not in bytes(row.phone_ciphertext)
    assert phone[2:].encode() not in bytes(row.phone_ciphertext)
    events = await outbox_data(db, "merchant.created.v1", merchant["id"])
    assert events == [
        {
            "merchant_id": merchant["id"],
            "owner_user_id": str(owner.user_id),
            "name": "Bakery",
            "billing_amount_minor": 300,
            "currency": "USD",
            "reward_nova": 5,
            "active": True,
        }
    ]
    assert phone not in str(events)


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"notification_phone": "4155550123"}, 422, "invalid_phone_number"),
        ({"notification_phone": "+1 415 555 0123"}, 422, "invalid_phone_number"),
        ({"notification_phone": "+4479111234567"}, 422, "invalid_phone_number"),
        ({"billing_amount_minor": -100}, 400, "validation_failed"),
        ({"billing_amount_minor": 0}, 400, "validation_failed"),
        ({"billing_amount_minor": 10**12}, 422, "billing_amount_out_of_range"),
        ({"billing_amount_minor": 10}, 422, "billing_amount_out_of_range"),
        ({"billing_amount_minor": "300"}, 400, "validation_failed"),
        ({"billing_amount_minor": 2.5}, 400, "validation_failed"),
        ({"currency": "EUR"}, 422, "currency_not_supported"),
        ({"currency": "usd"}, 400, "validation_failed"),
        ({"reward_nova": 10**9}, 422, "reward_out_of_range"),
        ({"lat": 95}, 422, "invalid_coordinates"),
        ({"owner_user_id": "not-a-uuid"}, 400, "validation_failed"),
        ({"status": "active"}, 400, "validation_failed"),
    ],
)
async def test_bad_merchant_input_is_refused_and_changes_nothing(
    service: SessionsService, db: AsyncEngine, fields: dict[str, Any], status: int, code: str
) -> None:
    owner = uuid.uuid4()
    resp = await service.call(
        "POST", "/v1/admin/merchants", service.admin, json=_body(owner, **fields)
    )
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == code
    assert await _merchant_count(db, owner) == 0


async def test_admin_update_is_validated_and_published(
    service: SessionsService, db: AsyncEngine
) -> None:
    owner = service.actor("merchant")
    merchant = (
        await service.call("POST", "/v1/admin/merchants", service.admin, json=_body(owner.user_id))
    ).json()
    path = f"/v1/admin/merchants/{merchant['id']}"
    bad = await service.call("PATCH", path, service.admin, json={"billing_amount_minor": 10**10})
    assert bad.status_code == 422 and bad.json()["code"] == "billing_amount_out_of_range"
    ok = await service.call(
        "PATCH", path, service.admin, json={"billing_amount_minor": 400, "active": False}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["billing_amount_minor"] == 400 and ok.json()["active"] is False
    missing = await service.call(
        "PATCH", f"/v1/admin/merchants/{uuid.uuid4()}", service.admin, json={"name": "x"}
    )
    assert missing.status_code == 404 and missing.json()["code"] == "merchant_not_found"
    async with db.connect() as conn:
        audits = await conn.scalar(
            text("SELECT count(*) FROM admin_audit WHERE target_id = :id"), {"id": merchant["id"]}
        )
    assert audits == 2  # create + the one successful update
    assert len(await outbox_data(db, "merchant.updated.v1", merchant["id"])) == 1


async def test_only_the_owner_reads_and_changes_the_notification_phone(
    service: SessionsService,
) -> None:
    """P0-11: the monolith let anyone redirect a merchant's arrival SMS."""
    owner = service.actor("merchant")
    lat, lng = random_spot()
    merchant = await service.add_merchant(owner, lat, lng)
    path = f"/v1/merchants/{merchant['id']}"
    new_phone = random_phone()

    assert (
        await service.call("PATCH", path, None, json={"notification_phone": new_phone})
    ).status_code == 401
    other_owner = service.actor("merchant")
    other = await service.call("PATCH", path, other_owner, json={"notification_phone": new_phone})
    assert other.status_code == 404 and other.json()["code"] == "merchant_not_found"
    driver = await service.call(
        "PATCH", path, service.actor("driver"), json={"notification_phone": new_phone}
    )
    assert driver.status_code == 403
    assert (await service.call("GET", path, other_owner)).status_code == 404
    assert (await service.call("GET", path, service.actor("driver"))).status_code == 403

    bad = await service.call("PATCH", path, owner, json={"notification_phone": "555-0100"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_phone_number"
    for field in (
        {"billing_amount_minor": 1},
        {"owner_user_id": str(uuid.uuid4())},
        {"active": False},
    ):
        refused = await service.call(
            "PATCH", path, owner, json={"notification_phone": new_phone, **field}
        )
        assert refused.status_code == 400, field
    ok = await service.call("PATCH", path, owner, json={"notification_phone": new_phone})
    assert ok.status_code == 200, ok.text
    assert ok.json()["notification_phone_masked"] == "+1******" + new_phone[-4:]
    read = await service.call("GET", path, owner)
    assert read.status_code == 200
    assert read.json()["notification_phone_masked"] == "+1******" + new_phone[-4:]


async def test_merchants_within_walking_distance_of_a_charger(service: SessionsService) -> None:
    lat, lng = random_spot()
    charger = await service.add_charger(lat, lng)
    owner = service.actor("merchant")
    near = await service.add_merchant(owner, lat + 0.002, lng)  # ~220 m
    nearer = await service.add_merchant(owner, lat + 0.001, lng)  # ~110 m
    await service.add_merchant(owner, lat + 0.02, lng)  # ~2.2 km: too far to walk
    inactive = await service.add_merchant(owner, lat, lng + 0.0005, active=False)
    resp = await service.call(
        "GET", f"/v1/chargers/{charger['id']}/merchants", service.actor("driver")
    )
    assert resp.status_code == 200, resp.text
    found = resp.json()["merchants"]
    assert [m["id"] for m in found] == [nearer["id"], near["id"]]
    assert inactive["id"] not in {m["id"] for m in found}
    assert "notification_phone_masked" not in found[0] and "billing_amount_minor" not in found[0]
    missing = await service.call(
        "GET", f"/v1/chargers/{uuid.uuid4()}/merchants", service.actor("driver")
    )
    assert missing.status_code == 404 and missing.json()["code"] == "charger_not_found"
