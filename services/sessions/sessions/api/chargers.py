"""Chargers near me, and the merchants within walking distance of one (any signed-in user)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from common.auth_dependencies import CurrentUser
from common.openapi_errors import SIGNED_IN, problems
from fastapi import APIRouter, Query
from pydantic import BaseModel

from sessions import charger_handlers
from sessions.api.schemas import SessionsDeps
from sessions.errors import ChargerNotFoundError, InvalidCoordinatesError

router = APIRouter(tags=["chargers"])


class Connector(BaseModel):
    type: str
    power_kw: float | None = None


class NearbyChargerOut(BaseModel):
    id: uuid.UUID
    external_id: str
    name: str
    network: str
    lat: float
    lng: float
    connectors: list[dict[str, Any]]
    distance_m: float


class NearbyChargersOut(BaseModel):
    chargers: list[NearbyChargerOut]


class NearbyMerchantOut(BaseModel):
    id: uuid.UUID
    name: str
    offer_title: str
    reward_nova: int
    lat: float
    lng: float
    distance_m: float


class NearbyMerchantsOut(BaseModel):
    merchants: list[NearbyMerchantOut]


@router.get(
    "/v1/chargers/nearby",
    response_model=NearbyChargersOut,
    responses=problems(*SIGNED_IN, InvalidCoordinatesError),
    summary="The nearest chargers, with their distance in metres",
)
async def nearby_chargers(
    user: CurrentUser,
    deps: SessionsDeps,
    lat: Annotated[float, Query(description="Latitude, -90..90")],
    lng: Annotated[float, Query(description="Longitude, -180..180")],
    radius_m: Annotated[float, Query(gt=0, le=200_000)] = 5_000.0,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
) -> NearbyChargersOut:
    radius = min(radius_m, deps.rules.nearby_max_radius_m)
    found = await charger_handlers.nearby(
        deps, lat=lat, lng=lng, radius_m=radius, limit=min(limit, deps.rules.nearby_max_limit)
    )
    return NearbyChargersOut(
        chargers=[
            NearbyChargerOut(
                id=n.charger.id,
                external_id=n.charger.external_id,
                name=n.charger.name,
                network=n.charger.network,
                lat=n.charger.lat,
                lng=n.charger.lng,
                connectors=n.charger.connectors,
                distance_m=round(n.distance_m, 1),
            )
            for n in found
        ]
    )


@router.get(
    "/v1/chargers/{charger_id}/merchants",
    response_model=NearbyMerchantsOut,
    responses=problems(*SIGNED_IN, ChargerNotFoundError),
    summary="Active merchants within walking distance of a charger",
)
async def merchants_near_charger(
    charger_id: uuid.UUID, user: CurrentUser, deps: SessionsDeps
) -> NearbyMerchantsOut:
    found = await charger_handlers.merchants_near(deps, charger_id=charger_id)
    return NearbyMerchantsOut(
        merchants=[
            NearbyMerchantOut(
                id=n.merchant.id,
                name=n.merchant.name,
                offer_title=n.merchant.offer_title,
                reward_nova=n.merchant.reward_nova,
                lat=n.merchant.lat,
                lng=n.merchant.lng,
                distance_m=round(n.distance_m, 1),
            )
            for n in found
        ]
    )
