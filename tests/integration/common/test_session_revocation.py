"""The shared revoked-sid denylist on real Redis; an unreachable Redis is 503, never a pass."""

from __future__ import annotations

import uuid

import pytest
from common.auth_dependencies import open_jwt_verifier
from common.jwks import StaticJwks
from common.jwt_settings import JwtVerificationSettings
from common.jwt_verification import JwtVerifier, SessionRevokedError
from common.redis_client import Cache, KeySpace
from common.redis_pipelined import PipelinedRedis
from common.session_revocation import RevocationUnavailableError, RevokedSessions
from common.settings import RedisSettings
from fastapi import FastAPI
from redis.asyncio import Redis

from tests.support.isolation import RunInfra
from tests.support.jwt_tokens import AUDIENCE, ISSUER, TestSigningKeys


async def test_revoked_sid_is_rejected_and_expires_with_its_ttl(infra: RunInfra) -> None:
    client = Redis.from_url(infra.redis_url)
    try:
        revoked = RevokedSessions(client, KeySpace(infra.redis_prefix))
        keys = TestSigningKeys()
        verifier = JwtVerifier(
            StaticJwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE, revocations=revoked
        )
        sid = uuid.uuid4().hex
        token = keys.mint(sid=sid)
        await verifier.verify(token)
        await revoked.revoke([sid], ttl_seconds=900)
        with pytest.raises(SessionRevokedError):
            await verifier.verify(token)
        ttl = await client.ttl(revoked.key(sid))
        assert 0 < ttl <= 900
        assert revoked.key(sid) == f"{infra.redis_prefix}:shared:revoked-sid:{sid}"
    finally:
        await client.aclose()


async def test_unreachable_redis_is_503() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        revoked = RevokedSessions(client, KeySpace("x"))
        with pytest.raises(RevocationUnavailableError) as err:
            await revoked.is_revoked("abc")
        assert err.value.status == 503
    finally:
        await client.aclose()


async def test_lookups_on_a_pipelined_connection_read_the_same_denylist(infra: RunInfra) -> None:
    client = Redis.from_url(infra.redis_url)
    lookups = PipelinedRedis(infra.redis_url)
    try:
        keys = KeySpace(infra.redis_prefix)
        revoked = RevokedSessions(client, keys, lookups=lookups)
        sid, other = uuid.uuid4().hex, uuid.uuid4().hex
        await RevokedSessions(client, keys).revoke([sid], ttl_seconds=60)
        assert [await revoked.is_revoked(s) for s in (sid, other)] == [True, False]
    finally:
        await lookups.aclose()
        await client.aclose()


async def test_unreachable_redis_is_503_on_the_pipelined_connection_too() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    lookups = PipelinedRedis("redis://127.0.0.1:1/0", timeout=0.2)
    try:
        revoked = RevokedSessions(client, KeySpace("x"), lookups=lookups)
        with pytest.raises(RevocationUnavailableError) as err:
            await revoked.is_revoked("abc")
        assert err.value.status == 503
    finally:
        await lookups.aclose()
        await client.aclose()


class _ServiceSettings(JwtVerificationSettings, RedisSettings):
    """A service's settings: token verification and Redis."""


async def test_a_service_verifier_refuses_a_revoked_session(
    infra: RunInfra,
) -> None:
    client = Redis.from_url(infra.redis_url)
    settings = _ServiceSettings(
        redis_url=infra.redis_url,
        redis_key_prefix=infra.redis_prefix,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
    )
    cache = Cache(client=client, keys=KeySpace(infra.redis_prefix))
    keys = TestSigningKeys()
    sid = uuid.uuid4().hex
    try:
        async with open_jwt_verifier(FastAPI(), settings, cache) as verifier:
            verifier.keys = StaticJwks(keys.jwks())
            assert verifier.revocations is not None
            token = keys.mint(sid=sid)
            await verifier.verify(token)
            await RevokedSessions(client, cache.keys).revoke([sid], ttl_seconds=60)
            with pytest.raises(SessionRevokedError):
                await verifier.verify(token)
    finally:
        await client.aclose()
