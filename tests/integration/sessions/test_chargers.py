"""Chargers: admin import (JSON, CSV, idempotent) and the indexed nearest-charger search."""

from __future__ import annotations

import math
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.sessions_service import SessionsService, random_spot


def _charger(lat: float, lng: float, **extra: object) -> dict[str, object]:
    return {
        "external_id": f"ext-{uuid.uuid4().hex}",
        "name": "C",
        "network": "Net",
        "lat": lat,
        "lng": lng,
        "connectors": [{"type": "CCS", "power_kw": 150}],
        **extra,
    }


async def _import(service: SessionsService, chargers: list[dict[str, object]]) -> dict[str, int]:
    resp = await service.call(
        "POST", "/v1/admin/chargers/import", service.admin, json={"chargers": chargers}
    )
    assert resp.status_code == 200, resp.text
    counts: dict[str, int] = resp.json()
    return counts


async def _nearby(
    service: SessionsService, lat: float, lng: float, **params: object
) -> list[dict[str, object]]:
    resp = await service.call(
        "GET",
        "/v1/chargers/nearby",
        service.actor("driver"),
        params={"lat": lat, "lng": lng, **params},
    )
    assert resp.status_code == 200, resp.text
    found: list[dict[str, object]] = resp.json()["chargers"]
    return found


async def test_import_is_idempotent_by_external_id(service: SessionsService) -> None:
    lat, lng = random_spot()
    batch = [_charger(lat + i * 0.001, lng) for i in range(300)]
    assert await _import(service, batch) == {
        "received": 300,
        "created": 300,
        "updated": 0,
        "unchanged": 0,
    }
    assert await _import(service, batch) == {
        "received": 300,
        "created": 0,
        "updated": 0,
        "unchanged": 300,
    }
    batch[0]["name"] = "Renamed"
    assert (await _import(service, batch))["updated"] == 1
    found = await _nearby(service, lat, lng, radius_m=10, limit=1)
    assert found[0]["name"] == "Renamed"


async def test_csv_import(service: SessionsService) -> None:
    lat, lng = random_spot()
    ext = f"csv-{uuid.uuid4().hex}"
    body = (
        "external_id,name,network,lat,lng,connectors\n"
        f"{ext},Depot,EVgo,{lat},{lng},CCS:350;CHAdeMO:50\n"
    )
    resp = await service.call(
        "POST",
        "/v1/admin/chargers/import",
        service.admin,
        content=body.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["created"] == 1
    found = await _nearby(service, lat, lng, radius_m=10)
    assert found[0]["external_id"] == ext
    assert found[0]["connectors"] == [
        {"type": "CCS", "power_kw": 350.0},
        {"type": "CHAdeMO", "power_kw": 50.0},
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"lat": 91.0},
        {"lng": -180.5},
        {"lat": "north"},
        {"external_id": ""},
        {"connectors": [{"type": "CCS", "power_kw": -5}]},
        {"surprise": 1},
    ],
)
async def test_one_bad_row_rejects_the_whole_import(
    service: SessionsService, db: AsyncEngine, bad: dict[str, object]
) -> None:
    lat, lng = random_spot()
    good = _charger(lat, lng)
    resp = await service.call(
        "POST",
        "/v1/admin/chargers/import",
        service.admin,
        json={"chargers": [good, {**_charger(lat, lng), **bad}]},
    )
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "invalid_import"
    async with db.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM chargers WHERE external_id = :e"), {"e": good["external_id"]}
        )
    assert count == 0


async def test_duplicates_and_oversized_imports_are_refused(service: SessionsService) -> None:
    lat, lng = random_spot()
    twice = _charger(lat, lng)
    resp = await service.call(
        "POST", "/v1/admin/chargers/import", service.admin, json={"chargers": [twice, twice]}
    )
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_import"
    limit = service.deps.rules.import_max_chargers
    many = [_charger(lat, lng) for _ in range(limit + 1)]
    resp = await service.call(
        "POST", "/v1/admin/chargers/import", service.admin, json={"chargers": many}
    )
    assert resp.status_code == 413 and resp.json()["code"] == "import_too_large"
    resp = await service.call(
        "POST", "/v1/admin/chargers/import", service.admin, content=b"{not json"
    )
    assert resp.status_code == 422 and resp.json()["code"] == "invalid_import"


async def test_nearest_first_with_distances(service: SessionsService) -> None:
    lat, lng = random_spot()
    offsets = [0.05, 0.002, 0.01, 0.0005, 0.02]  # degrees of latitude north
    batch = [_charger(lat + d, lng, name=f"d{d}") for d in offsets]
    await _import(service, batch)
    found = await _nearby(service, lat, lng, radius_m=10_000, limit=3)
    assert [c["name"] for c in found] == ["d0.0005", "d0.002", "d0.01"]
    metres_per_degree = math.pi * 6_371_008.8 / 180
    for charger, d in zip(found, [0.0005, 0.002, 0.01], strict=True):
        assert charger["distance_m"] == pytest.approx(d * metres_per_degree, rel=0.006)
    within = await _nearby(service, lat, lng, radius_m=500, limit=10)
    assert [c["name"] for c in within] == ["d0.0005", "d0.002"]


async def test_across_the_antimeridian(service: SessionsService) -> None:
    lat = -16.5 + (uuid.uuid4().int % 1000) / 10_000  # Fiji, a different latitude per run
    west = _charger(lat, -179.99, name="west")
    far = _charger(lat, 179.5, name="far")
    await _import(service, [west, far])
    found = await _nearby(service, lat, 179.99, radius_m=10_000, limit=5)
    names = [c["name"] for c in found]
    assert names[0] == "west", names
    assert found[0]["distance_m"] == pytest.approx(2_131, rel=0.02)  # 0.02 deg at 16.5 S


async def test_near_the_pole(service: SessionsService) -> None:
    lng = (uuid.uuid4().int % 3600) / 10 - 180
    other_side = ((lng + 360) % 360) - 180  # 180 degrees of longitude away
    across = _charger(89.99, other_side, name="across")
    await _import(service, [across])
    found = await _nearby(service, 89.99, lng, radius_m=5_000, limit=50)
    match = [c for c in found if c["external_id"] == across["external_id"]]
    assert match and match[0]["distance_m"] == pytest.approx(2_224, rel=0.01)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"lat": 91, "lng": 0}, 422, "invalid_coordinates"),
        ({"lat": 0, "lng": 181}, 422, "invalid_coordinates"),
        ({"lat": "nan", "lng": 0}, 422, "invalid_coordinates"),
        ({"lat": "inf", "lng": 0}, 422, "invalid_coordinates"),
        ({"lat": "abc", "lng": 0}, 400, "validation_failed"),
        ({"lng": 0}, 400, "validation_failed"),
        ({"lat": 0, "lng": 0, "radius_m": -1}, 400, "validation_failed"),
        ({"lat": 0, "lng": 0, "limit": 0}, 400, "validation_failed"),
    ],
)
async def test_bad_coordinates_are_clear_problems(
    service: SessionsService, params: dict[str, object], status: int, code: str
) -> None:
    resp = await service.call("GET", "/v1/chargers/nearby", service.actor("driver"), params=params)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == code


async def test_the_nearby_query_walks_the_gist_index(db: AsyncEngine) -> None:
    """P1-7: the monolith loaded every charger into Python. The plan must be an index scan
    ordered by the KNN operator (this also fails if the migration lost the index)."""
    from sessions.charger_repository import NEAREST_SQL

    sql = NEAREST_SQL.replace(":lat", "37.7").replace(":lng", "-122.4")
    sql = sql.replace(":radius", "5000").replace(":limit", "10")
    async with db.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))  # small tables: judge the plan shape
        plan = "\n".join(r[0] for r in await conn.execute(text("EXPLAIN " + sql)))
        await conn.execute(text("RESET enable_seqscan"))
    assert "Index Scan using ix_chargers_earth" in plan, plan
    assert "Order By" in plan, plan
