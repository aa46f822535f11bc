"""JWKS over HTTP: cached by kid, refetched on an unknown kid at a bounded rate, 503 when absent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from common.jwks import HttpJwks, JwksUnavailableError
from common.jwt_verification import JwtVerifier, TokenInvalidError

from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys


class JwksServer:
    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.status = 200
        self.hits = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.status != 200:
            return web.Response(status=self.status)
        return web.json_response(self.document)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[tuple[JwksServer, str]]:
    state = JwksServer()
    app = web.Application()
    app.router.add_get("/v1/auth/jwks.json", state.handle)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    try:
        yield state, str(test_server.make_url("/v1/auth/jwks.json"))
    finally:
        await test_server.close()


async def test_rotated_key_is_picked_up_by_refetch_on_unknown_kid(
    server: tuple[JwksServer, str],
) -> None:
    state, url = server
    old, new = TestSigningKeys(kid="k-old"), TestSigningKeys(kid="k-new")
    state.document = old.jwks()
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        keys = HttpJwks(url, session, min_refetch_seconds=30, clock=clock)
        verifier = JwtVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        await verifier.verify(old.mint())
        await verifier.verify(old.mint())
        assert state.hits == 1  # cached

        state.document = {"keys": old.public_jwks() + new.public_jwks()}
        clock.now += 31
        await verifier.verify(new.mint())  # unknown kid -> one refetch
        assert state.hits == 2


async def test_unknown_kids_cannot_flood_the_jwks_endpoint(
    server: tuple[JwksServer, str],
) -> None:
    state, url = server
    good, stranger = TestSigningKeys(kid="k-good"), TestSigningKeys(kid="k-stranger")
    state.document = good.jwks()
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        keys = HttpJwks(url, session, min_refetch_seconds=30, clock=clock)
        verifier = JwtVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        for _ in range(20):
            with pytest.raises(TokenInvalidError):
                await verifier.verify(stranger.mint())
        assert state.hits == 1
        clock.now += 30
        with pytest.raises(TokenInvalidError):
            await verifier.verify(stranger.mint())
        assert state.hits == 2


async def test_endpoint_down_before_any_load_is_503_not_401(
    server: tuple[JwksServer, str],
) -> None:
    state, url = server
    state.status = 503
    async with aiohttp.ClientSession() as session:
        keys = HttpJwks(url, session, clock=Clock())
        verifier = JwtVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        with pytest.raises(JwksUnavailableError) as err:
            await verifier.verify(TestSigningKeys().mint())
        assert err.value.status == 503


async def test_cached_keys_keep_working_while_the_endpoint_is_down(
    server: tuple[JwksServer, str],
) -> None:
    state, url = server
    keys_ = TestSigningKeys(kid="k-cached")
    state.document = keys_.jwks()
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        keys = HttpJwks(url, session, cache_seconds=60, clock=clock)
        verifier = JwtVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        await verifier.verify(keys_.mint())
        state.status = 500
        clock.now += 120  # stale: a refetch is tried, fails, the cached key still serves
        await verifier.verify(keys_.mint())
        await verifier.verify(keys_.mint())
        assert state.hits == 2
