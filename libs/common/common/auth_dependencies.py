"""FastAPI dependencies that authenticate a request with the app's :class:`JwtVerifier`.

Wiring, in a service's lifespan (after ``open_cache``)::

    async with open_jwt_verifier(app, settings, cache):   # JWKS over HTTP from auth
        yield

or, in tests, ``install_jwt_verifier(app, JwtVerifier(StaticJwks(jwks), ...))``.

In routes::

    @router.get("/v1/things")
    async def list_things(user: CurrentUser) -> ...: ...          # any signed-in user

    @router.post("/v1/admin/things")
    async def admin_thing(admin: AdminUser) -> ...: ...           # role "admin" only

    Merchant = Annotated[VerifiedToken, Depends(require_role("merchant", "admin"))]
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import aiohttp
from fastapi import Depends, FastAPI, Request

from common.errors import Unavailable
from common.jwks import HttpJwks
from common.jwt_settings import JwtVerificationSettings
from common.jwt_verification import (
    InsufficientScopeError,
    JwtVerifier,
    TokenInvalidError,
    TokenMissingError,
    VerifiedToken,
)
from common.redis_client import Cache
from common.redis_pipelined import PipelinedRedis
from common.session_revocation import RevokedSessions
from common.settings import RedisSettings

_STATE_ATTR = "jwt_verifier"


def install_jwt_verifier(app: FastAPI, verifier: JwtVerifier) -> None:
    setattr(app.state, _STATE_ATTR, verifier)


@asynccontextmanager
async def open_jwt_verifier(
    app: FastAPI, settings: JwtVerificationSettings, cache: Cache | None
) -> AsyncIterator[JwtVerifier]:
    """A verifier with keys from ``settings.jwks_url`` and the shared revoked-sid denylist, read
    on a pipelined connection of its own when ``settings`` also has the Redis settings."""
    timeout = aiohttp.ClientTimeout(total=settings.jwks_timeout_seconds)
    lookups = None
    mixins: Any = settings  # a service's class combines the bases: test each one
    if cache is not None and isinstance(mixins, RedisSettings):
        lookups = PipelinedRedis(mixins.redis_url, timeout=mixins.redis_timeout_seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        keys = HttpJwks(
            settings.jwks_url,
            session,
            cache_seconds=settings.jwks_cache_seconds,
            min_refetch_seconds=settings.jwks_min_refetch_seconds,
            timeout_seconds=settings.jwks_timeout_seconds,
        )
        revocations = None
        if cache is not None:
            revocations = RevokedSessions(cache.client, cache.keys, lookups=lookups)
        verifier = JwtVerifier(
            keys,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
            revocations=revocations,
        )
        install_jwt_verifier(app, verifier)
        try:
            yield verifier
        finally:
            if lookups is not None:
                await lookups.aclose()


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise TokenMissingError("A bearer access token is required.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenInvalidError("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


async def require_user(request: Request) -> VerifiedToken:
    verifier = getattr(request.app.state, _STATE_ATTR, None)
    if verifier is None:
        raise Unavailable("Authentication is not configured.", code="auth_not_configured")
    assert isinstance(verifier, JwtVerifier)
    token = await verifier.verify(bearer_token(request))
    request.state.user = token
    return token


def require_role(*roles: str) -> Callable[..., Awaitable[VerifiedToken]]:
    """A dependency that admits only tokens whose ``role`` is one of ``roles``."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    allowed = frozenset(roles)

    async def dependency(user: Annotated[VerifiedToken, Depends(require_user)]) -> VerifiedToken:
        if user.role not in allowed:
            raise InsufficientScopeError(
                "This action needs one of the roles: " + ", ".join(sorted(allowed)) + ".",
                required_roles=sorted(allowed),
            )
        return user

    return dependency


CurrentUser = Annotated[VerifiedToken, Depends(require_user)]
AdminUser = Annotated[VerifiedToken, Depends(require_role("admin"))]
