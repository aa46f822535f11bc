"""Every route as every kind of caller (OWASP API1/API5): no token, the session's own driver,
another driver, the merchant's owner, another merchant's owner, an admin.

The matrix is data: one row per operation with the expected status per caller. Objects a caller
may not see are 404 (no existence leak); a role that can never use a route is 403. A second test
asserts that every operation the service documents is in the matrix, so coverage cannot rot.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.sessions_service import (
    Actor,
    Place,
    SessionsService,
    random_phone,
    random_spot,
)

CALLERS = ("none", "other_driver", "other_owner", "driver", "owner", "admin")


@dataclass
class World:
    """Per case: a merchant M (owner O) at a charger, a driver D with an open session S at M,
    another driver, another merchant's owner, an admin."""

    service: SessionsService
    place: Place
    driver: Actor
    session: dict[str, Any]
    other_driver: Actor
    other_owner: Actor
    other_place: Place
    extra: dict[str, Any] = field(default_factory=dict)

    def actor(self, caller: str) -> Actor | None:
        return {
            "none": None,
            "other_driver": self.other_driver,
            "other_owner": self.other_owner,
            "driver": self.driver,
            "owner": self.place.owner,
            "admin": self.service.admin,
        }[caller]


async def _world(service: SessionsService) -> World:
    place, other_place = await service.place(), await service.place()
    driver = service.actor("driver")
    session = (await service.activate(driver, place)).json()
    return World(
        service=service,
        place=place,
        driver=driver,
        session=session,
        other_driver=service.actor("driver"),
        other_owner=other_place.owner,
        other_place=other_place,
    )


Body = Callable[[World], Awaitable[Any]]


async def _none(world: World) -> Any:
    return None


async def _activation(world: World) -> Any:
    return {"merchant_id": world.place.merchant["id"], "charger_id": world.place.charger["id"]}


async def _phone(world: World) -> Any:
    return {"notification_phone": random_phone()}


async def _code(world: World) -> Any:
    return {"code": world.session["offer_code"]}


async def _import(world: World) -> Any:
    lat, lng = random_spot()
    return {
        "chargers": [
            {"external_id": uuid.uuid4().hex, "name": "c", "network": "n", "lat": lat, "lng": lng}
        ]
    }


async def _merchant(world: World) -> Any:
    lat, lng = random_spot()
    return {
        "owner_user_id": str(uuid.uuid4()),
        "name": "m",
        "lat": lat,
        "lng": lng,
        "notification_phone": random_phone(),
        "offer_title": "t",
        "billing_amount_minor": 100,
        "currency": "USD",
        "reward_nova": 1,
    }


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # {m} merchant, {c} charger, {s} session
    expected: dict[str, int]
    body: Body = _none
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


ADMIN_ONLY = {
    "none": 401,
    "other_driver": 403,
    "other_owner": 403,
    "driver": 403,
    "owner": 403,
}
ANY_USER = {c: 200 for c in CALLERS if c != "none"} | {"none": 401}
DRIVER_OWN = {
    "none": 401,
    "other_driver": 404,
    "other_owner": 403,
    "owner": 403,
    "admin": 403,
    "driver": 200,
}
MERCHANT_OWN = {
    "none": 401,
    "other_driver": 403,
    "driver": 403,
    "other_owner": 404,
    "owner": 200,
    "admin": 200,
}

MATRIX = [
    Row("GET", "/v1/chargers/nearby", ANY_USER, params={"lat": 10, "lng": 10}),
    Row("GET", "/v1/chargers/{c}/merchants", ANY_USER),
    Row(
        "POST",
        "/v1/exclusive-sessions",
        {**DRIVER_OWN, "other_driver": 201},
        _activation,
    ),
    Row("GET", "/v1/exclusive-sessions", {**DRIVER_OWN, "other_driver": 200}),
    Row("GET", "/v1/exclusive-sessions/{s}", DRIVER_OWN),
    Row("POST", "/v1/exclusive-sessions/{s}/arrival", DRIVER_OWN),
    Row("POST", "/v1/exclusive-sessions/{s}/cancel", DRIVER_OWN),
    Row("GET", "/v1/merchants/{m}", MERCHANT_OWN),
    Row("PATCH", "/v1/merchants/{m}", MERCHANT_OWN, _phone),
    Row("GET", "/v1/merchants/{m}/arrivals", MERCHANT_OWN),
    Row("POST", "/v1/merchants/{m}/redemptions", MERCHANT_OWN, _code),
    Row("POST", "/v1/admin/chargers/import", {**ADMIN_ONLY, "admin": 200}, _import),
    Row("POST", "/v1/admin/merchants", {**ADMIN_ONLY, "admin": 201}, _merchant),
    Row("PATCH", "/v1/admin/merchants/{m}", {**ADMIN_ONLY, "admin": 200}, _phone),
    Row("GET", "/v1/admin/merchants", {**ADMIN_ONLY, "admin": 200}),
    Row("GET", "/v1/admin/exclusive-sessions", {**ADMIN_ONLY, "admin": 200}),
    Row("GET", "/v1/admin/exclusive-sessions/{s}", {**ADMIN_ONLY, "admin": 200}),
    Row("POST", "/v1/admin/exclusive-sessions/{s}/complete", {**ADMIN_ONLY, "admin": 200}),
    Row("POST", "/v1/admin/exclusive-sessions/{s}/cancel", {**ADMIN_ONLY, "admin": 200}),
]
# Operations of the shared dead-letter API (admin-only, tested with the messaging backbone);
# here they are checked for 401 without a token and 403 for every other role.
SHARED_ADMIN_PREFIX = "/v1/admin/dead-letters"


def _path(row: Row, world: World) -> str:
    return (
        row.path.replace("{m}", world.place.merchant["id"])
        .replace("{c}", world.place.charger["id"])
        .replace("{s}", world.session["id"])
    )


CASES = [(row, caller) for row in MATRIX for caller in CALLERS]


@pytest.mark.parametrize(("row", "caller"), CASES, ids=[f"{r.id} as {c}" for r, c in CASES])
async def test_route_as_caller(service: SessionsService, row: Row, caller: str) -> None:
    world = await _world(service)  # fresh objects per case: a success never hides a denial
    body = await row.body(world)
    resp = await service.call(
        row.method,
        _path(row, world),
        world.actor(caller),
        params=row.params,
        **({"json": body} if body is not None else {}),
    )
    expected = row.expected[caller]
    assert resp.status_code == expected, f"{row.id} as {caller}: {resp.status_code} {resp.text}"
    if expected >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json")


async def test_not_yours_and_does_not_exist_look_the_same(service: SessionsService) -> None:
    world = await _world(service)
    path = f"/v1/exclusive-sessions/{world.session['id']}"
    theirs = await service.call("GET", path, world.other_driver)
    missing = await service.call("GET", f"/v1/exclusive-sessions/{uuid.uuid4()}", world.driver)
    assert theirs.status_code == missing.status_code == 404
    strip = {"request_id"}
    assert {k: v for k, v in theirs.json().items() if k not in strip} == {
        k: v for k, v in missing.json().items() if k not in strip
    }


async def test_a_merchant_role_without_a_merchant_sees_none(service: SessionsService) -> None:
    world = await _world(service)
    nobody = service.actor("merchant")
    for method, path, body in (
        ("GET", f"/v1/merchants/{world.place.merchant['id']}", None),
        ("GET", f"/v1/merchants/{world.place.merchant['id']}/arrivals", None),
        (
            "POST",
            f"/v1/merchants/{world.place.merchant['id']}/redemptions",
            {"code": world.session["offer_code"]},
        ),
        (
            "PATCH",
            f"/v1/merchants/{world.place.merchant['id']}",
            {"notification_phone": random_phone()},
        ),
    ):
        resp = await service.call(method, path, nobody, json=body)
        assert resp.status_code == 404, (method, path)


def _documented(service: SessionsService) -> set[str]:
    methods = ("get", "put", "post", "delete", "patch")
    document = service.app.openapi()
    return {
        f"{m.upper()} {p}" for p, item in document["paths"].items() for m in methods if m in item
    }


async def test_every_documented_operation_is_in_the_matrix(service: SessionsService) -> None:
    def template(path: str) -> str:
        for name, key in (("merchant_id", "m"), ("charger_id", "c"), ("session_id", "s")):
            path = path.replace("{" + name + "}", "{" + key + "}")
        return path

    documented = {template(op) for op in _documented(service)}
    in_matrix = {row.id for row in MATRIX}
    shared = {op for op in documented if op.split(" ", 1)[1].startswith(SHARED_ADMIN_PREFIX)}
    assert documented - shared == in_matrix
    assert shared, "the dead-letter API should be mounted"


async def test_every_operation_refuses_anonymous_and_non_admin_callers(
    service: SessionsService,
) -> None:
    placeholder = str(uuid.uuid4())
    for operation in sorted(_documented(service)):
        method, path = operation.split(" ", 1)
        concrete = path
        while "{" in concrete:
            start, end = concrete.index("{"), concrete.index("}")
            concrete = concrete[:start] + placeholder + concrete[end + 1 :]
        anonymous = await service.call(method, concrete, None, json={})
        assert anonymous.status_code == 401, operation
        assert anonymous.json()["code"] == "token_missing"
        if path.startswith("/v1/admin/"):
            for role in ("driver", "merchant"):
                resp = await service.call(method, concrete, service.actor(role), json={})
                assert resp.status_code == 403, (operation, role, resp.status_code)
