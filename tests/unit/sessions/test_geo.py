import math

import pytest
from sessions.errors import InvalidCoordinatesError
from sessions.geo import Point, distance_m, point


@pytest.mark.parametrize(
    ("lat", "lng"),
    [(90.0001, 0), (-90.5, 0), (0, 180.0001), (0, -181), (math.nan, 0), (0, math.inf)],
)
def test_out_of_range_or_non_finite_coordinates_are_refused(lat: float, lng: float) -> None:
    with pytest.raises(InvalidCoordinatesError) as caught:
        point(lat, lng)
    assert caught.value.status == 422
    assert caught.value.instance_code == "invalid_coordinates"


def test_edges_of_the_range_are_valid() -> None:
    assert point(90, 180) == Point(90.0, 180.0)
    assert point(-90, -180) == Point(-90.0, -180.0)


def test_distance_across_the_antimeridian_is_short() -> None:
    # (0, 179.99) and (0, -179.99) are 0.02 degrees apart: ~2.2 km, not ~40,000 km.
    assert distance_m(Point(0, 179.99), Point(0, -179.99)) == pytest.approx(2224, rel=0.01)


def test_distance_near_the_pole() -> None:
    # 180 degrees of longitude apart at 89.99 N: across the pole, ~2.2 km.
    assert distance_m(Point(89.99, 0), Point(89.99, 180)) == pytest.approx(2224, rel=0.01)


def test_argument_order_matters() -> None:
    sf, nyc = Point(37.7749, -122.4194), Point(40.7128, -74.0060)
    assert distance_m(sf, nyc) == pytest.approx(4_129_000, rel=0.006)
    assert distance_m(Point(60, 10), Point(10, 60)) > 5_000_000
