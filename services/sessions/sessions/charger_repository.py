"""Chargers <-> rows: idempotent bulk import and the indexed nearest-neighbour query.

Nearest: ``ORDER BY sessions.ll_to_earth_q(lat, lng) <-> sessions.ll_to_earth_q($lat, $lng)``
walks the GiST index (KNN); the ``earth_box`` filter bounds the radius with the same index.
The box over-includes (it is a cube), so the handler drops rows beyond the radius by metres.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sessions.geo import Point
from sessions.records import Charger

COLUMNS = "id, external_id, name, network, lat, lng, connectors"

NEAREST_SQL = (
    f"SELECT {COLUMNS} FROM chargers "
    "WHERE public.earth_box(sessions.ll_to_earth_q(:lat, :lng), :radius) "
    "@> sessions.ll_to_earth_q(lat, lng) "
    "ORDER BY sessions.ll_to_earth_q(lat, lng) <-> sessions.ll_to_earth_q(:lat, :lng) "
    "LIMIT :limit"
)
_NEAREST = text(NEAREST_SQL)
_GET = text(f"SELECT {COLUMNS} FROM chargers WHERE id = :id")
_UPSERT = text(
    """
    INSERT INTO chargers (id, external_id, name, network, lat, lng, connectors)
    SELECT gen_random_uuid(), x.external_id, x.name, x.network, x.lat, x.lng, x.connectors
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
        AS x(external_id text, name text, network text, lat float8, lng float8, connectors jsonb)
    ON CONFLICT (external_id) DO UPDATE SET
        name = EXCLUDED.name, network = EXCLUDED.network, lat = EXCLUDED.lat,
        lng = EXCLUDED.lng, connectors = EXCLUDED.connectors, updated_at = now()
    WHERE (chargers.name, chargers.network, chargers.lat, chargers.lng, chargers.connectors)
        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.network, EXCLUDED.lat, EXCLUDED.lng,
                          EXCLUDED.connectors)
    RETURNING (xmax = 0) AS inserted
    """
)


@dataclass(frozen=True)
class ChargerInput:
    external_id: str
    name: str
    network: str
    lat: float
    lng: float
    connectors: list[dict[str, Any]]


@dataclass(frozen=True)
class ImportCounts:
    created: int
    updated: int
    unchanged: int


def to_charger(row: Any) -> Charger:
    return Charger(
        id=row["id"],
        external_id=row["external_id"],
        name=row["name"],
        network=row["network"],
        lat=row["lat"],
        lng=row["lng"],
        connectors=list(row["connectors"] or []),
    )


async def upsert_many(tx: AsyncSession, chargers: Sequence[ChargerInput]) -> ImportCounts:
    """One statement for the whole batch; idempotent by ``external_id``."""
    rows = json.dumps(
        [
            {
                "external_id": c.external_id,
                "name": c.name,
                "network": c.network,
                "lat": c.lat,
                "lng": c.lng,
                "connectors": c.connectors,
            }
            for c in chargers
        ]
    )
    result = await tx.execute(_UPSERT, {"rows": rows})
    flags = [bool(r[0]) for r in result]
    created = sum(flags)
    updated = len(flags) - created
    return ImportCounts(created=created, updated=updated, unchanged=len(chargers) - len(flags))


async def nearest(tx: AsyncSession, at: Point, *, radius_m: float, limit: int) -> list[Charger]:
    result = await tx.execute(
        _NEAREST, {"lat": at.lat, "lng": at.lng, "radius": radius_m, "limit": limit}
    )
    return [to_charger(row) for row in result.mappings()]


async def get(tx: AsyncSession, charger_id: uuid.UUID) -> Charger | None:
    row = (
        (
            await tx.execute(
                text(f"SELECT {COLUMNS} FROM chargers WHERE id = :id"), {"id": charger_id}
            )
        )
        .mappings()
        .first()
    )
    return to_charger(row) if row is not None else None
