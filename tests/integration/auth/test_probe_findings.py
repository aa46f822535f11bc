"""The outside probe's smaller findings on auth: ``HEAD`` of the JWKS, a body that is not JSON
(415), one answer for bodies that cannot be read (not UTF-8, malformed JSON), and no cache may
store ``/v1/auth/me``."""

from __future__ import annotations

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient, sign_in
from tests.support.problem_json import problem

START = "/v1/auth/otp/start"


async def test_head_of_the_jwks_is_answered(auth: AuthClient) -> None:
    resp = await auth.http.head("/v1/auth/jwks.json")
    assert resp.status_code == 200
    assert resp.headers["cache-control"] == "public, max-age=300"


async def test_a_body_that_is_not_json_is_415(auth: AuthClient) -> None:
    resp = await auth.http.post(
        START, content=b"phone=%2B14155550123", headers={"content-type": "text/plain"}
    )
    problem(resp, 415, "unsupported_media_type")


async def test_unreadable_and_malformed_json_bodies_get_the_same_answer(auth: AuthClient) -> None:
    json_type = {"content-type": "application/json"}
    not_utf8 = await auth.http.post(START, content=b'{"phone": "\xff\xfe"}', headers=json_type)
    malformed = await auth.http.post(START, content=b'{"phone": ', headers=json_type)
    problem(not_utf8, 400, "validation_failed")
    problem(malformed, 400, "validation_failed")


async def test_the_profile_is_never_stored_by_a_cache(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    tokens = await sign_in(auth, fake_twilio)
    me = await auth.get("/v1/auth/me", token=tokens["access_token"])
    assert me.status_code == 200
    assert me.headers["cache-control"] == "no-store"
    assert me.json()["session_id"] == tokens["session_id"]
