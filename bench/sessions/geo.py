"""Nearest chargers: the service's indexed KNN query vs the monolith's approach (load every
charger, Haversine in Python), on the same table at 50k and 1M rows."""

from __future__ import annotations

import heapq
import math
import random
import time
from typing import Any

import asyncpg
from sessions.charger_repository import NEAREST_SQL

from bench.report import emit, latency_figures, ratio

BENCH = "sessions"
EARTH_M = 6_371_008.8
BOX = (25.0, 49.0, -125.0, -67.0)  # a US-sized box, as in the research
RADIUS_M = 50_000.0
K = 10

# the service's statement, with asyncpg's positional parameters
INDEXED = (
    NEAREST_SQL.replace(":lat", "$1")
    .replace(":lng", "$2")
    .replace(":radius", "$3")
    .replace(":limit", "$4")
)


async def fill(conn: asyncpg.Connection, start: int, stop: int) -> float:
    """Rows ``start..stop-1`` of a fixed pseudo-random set; returns the seconds it took."""
    began = time.perf_counter()
    await conn.execute("SELECT setseed($1)", 0.42 + start / 10**8)
    await conn.execute(
        """
        INSERT INTO sessions.chargers (id, external_id, name, network, lat, lng)
        SELECT gen_random_uuid(), 'bench-' || i, 'Charger ' || i, 'BenchNet',
               $3::float8 + random() * ($4::float8 - $3::float8),
               $5::float8 + random() * ($6::float8 - $5::float8)
        FROM generate_series($1::int, $2::int - 1) AS i
        """,
        start,
        stop,
        *BOX,
    )
    await conn.execute("ANALYZE sessions.chargers")
    return time.perf_counter() - began


def _points(n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(rng.uniform(BOX[0], BOX[1]), rng.uniform(BOX[2], BOX[3])) for _ in range(n)]


def _haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


async def indexed(conn: asyncpg.Connection, points: list[tuple[float, float]]) -> list[float]:
    statement = await conn.prepare(INDEXED)
    for lat, lng in points[:10]:  # warm-up
        await statement.fetch(lat, lng, RADIUS_M, K)
    samples = []
    for lat, lng in points:
        began = time.perf_counter()
        await statement.fetch(lat, lng, RADIUS_M, K)
        samples.append(time.perf_counter() - began)
    return samples


async def monolith(conn: asyncpg.Connection, points: list[tuple[float, float]]) -> list[float]:
    """Every charger fetched, the distance to each computed in Python, the 10 smallest kept."""
    statement = await conn.prepare("SELECT id, lat, lng FROM sessions.chargers")
    samples = []
    for lat, lng in points:
        began = time.perf_counter()
        rows = await statement.fetch()
        heapq.nsmallest(K, rows, key=lambda r: _haversine(lat, lng, r["lat"], r["lng"]))
        samples.append(time.perf_counter() - began)
    return samples


async def same_answers(conn: asyncpg.Connection, points: list[tuple[float, float]]) -> int:
    """How many of ``points`` get the same 10 chargers, in the same order, from both ways."""
    rows = await conn.fetch("SELECT id, lat, lng FROM sessions.chargers")
    agree = 0
    for lat, lng in points:
        knn = [r["id"] for r in await conn.fetch(INDEXED, lat, lng, 10_000_000.0, K)]
        brute = [
            r["id"]
            for r in heapq.nsmallest(
                K, rows, key=lambda r: _haversine(lat, lng, r["lat"], r["lng"])
            )
        ]
        agree += knn == brute
    return agree


async def run(database_url: str) -> list[dict[str, Any]]:
    dsn = database_url.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "sessions,public"})
    lines = []
    try:
        loaded = 0
        for size, queries, baseline_queries in ((50_000, 300, 30), (1_000_000, 300, 5)):
            checked = 20 if size <= 50_000 else 3
            fill_s = await fill(conn, loaded, size)
            loaded = size
            points = _points(queries, seed=size)
            fast = await indexed(conn, points)
            slow = await monolith(conn, points[:baseline_queries])
            fast_f, slow_f = latency_figures(fast), latency_figures(slow)
            lines.append(
                emit(
                    BENCH,
                    f"nearest_{K}_of_{size}",
                    chargers=size,
                    load_seconds=round(fill_s, 1),
                    indexed=fast_f | {"queries": len(fast)},
                    monolith=slow_f | {"queries": len(slow)},
                    speedup_p50=ratio(slow_f["p50_ms"], fast_f["p50_ms"]),
                    same_top10=f"{await same_answers(conn, points[:checked])}/{checked}",
                    target_p50_ms=5 if size == 50_000 else 10,
                )
            )
    finally:
        await conn.close()
    return lines
