"""Coordinates and distances: validation before any SQL, and metres on a mean-radius sphere.

The database orders by the 3-D earth-cube distance (``cube``/``earthdistance``), which ranks
exactly like the great-circle distance and has no antimeridian or pole special cases. Metres
shown to clients come from :func:`distance_m` (Haversine, mean Earth radius), computed for the
few rows returned; it differs from the ellipsoid by at most ~0.6 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sessions.errors import InvalidCoordinatesError

MEAN_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float


def point(lat: float, lng: float) -> Point:
    """A validated point: finite, latitude in [-90, 90], longitude in [-180, 180]."""
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise InvalidCoordinatesError("Latitude and longitude must be finite numbers.")
    if not -90.0 <= lat <= 90.0:
        raise InvalidCoordinatesError("Latitude must be between -90 and 90.", field="lat")
    if not -180.0 <= lng <= 180.0:
        raise InvalidCoordinatesError("Longitude must be between -180 and 180.", field="lng")
    return Point(lat=float(lat), lng=float(lng))


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (Haversine on the mean-radius sphere)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lng - a.lng)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * MEAN_EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
