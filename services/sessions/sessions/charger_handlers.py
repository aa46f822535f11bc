"""Chargers: the admin import and the two "near me" reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sessions import charger_repository, merchant_repository
from sessions.charger_repository import ChargerInput, ImportCounts
from sessions.deps import Deps
from sessions.errors import (
    ChargerNotFoundError,
    ImportTooLargeError,
    InvalidCoordinatesError,
    InvalidImportError,
)
from sessions.geo import Point, distance_m, point
from sessions.merchant_rules import mask_phone
from sessions.records import Merchant, NearbyCharger


@dataclass(frozen=True)
class NearbyMerchant:
    merchant: Merchant
    distance_m: float


async def import_chargers(deps: Deps, chargers: Sequence[ChargerInput]) -> ImportCounts:
    """Creates or updates chargers by ``external_id``; importing the same file twice changes
    nothing the second time. All or nothing: one bad row rejects the whole call."""
    if len(chargers) > deps.rules.import_max_chargers:
        raise ImportTooLargeError(
            f"At most {deps.rules.import_max_chargers} chargers per call.",
            limit=deps.rules.import_max_chargers,
        )
    if not chargers:
        raise InvalidImportError("The import contains no chargers.")
    seen: set[str] = set()
    problems: list[dict[str, object]] = []
    for index, charger in enumerate(chargers):
        if charger.external_id in seen:
            problems.append({"row": index, "problem": "duplicate external_id"})
        seen.add(charger.external_id)
        try:
            point(charger.lat, charger.lng)
        except InvalidCoordinatesError as exc:
            problems.append({"row": index, "problem": exc.detail})
    if problems:
        raise InvalidImportError("Some rows are invalid; nothing was imported.", rows=problems[:50])
    async with deps.uow() as tx:
        return await charger_repository.upsert_many(tx, chargers)


async def nearby(
    deps: Deps, *, lat: float, lng: float, radius_m: float, limit: int
) -> list[NearbyCharger]:
    at = point(lat, lng)
    async with deps.uow() as tx:
        found = await charger_repository.nearest(tx, at, radius_m=radius_m, limit=limit)
    results = [NearbyCharger(c, distance_m(at, Point(c.lat, c.lng))) for c in found]
    return [r for r in results if r.distance_m <= radius_m]


async def merchants_near(deps: Deps, *, charger_id: uuid.UUID) -> list[NearbyMerchant]:
    """Active merchants within walking distance of a charger, nearest first."""
    radius = deps.rules.walking_distance_m
    async with deps.uow() as tx:
        charger = await charger_repository.get(tx, charger_id)
        if charger is None:
            raise ChargerNotFoundError("No charger with this id.")
        at = Point(charger.lat, charger.lng)
        rows = await merchant_repository.near(tx, at, radius_m=radius, limit=100)
    found = []
    for row in rows:
        merchant = merchant_repository.to_merchant(row, None, mask_phone)
        metres = distance_m(at, Point(merchant.lat, merchant.lng))
        if metres <= radius:
            found.append(NearbyMerchant(merchant, metres))
    return found
