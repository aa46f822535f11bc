"""The composition root of the auth service: the only module that imports adapters.

- :func:`build_deps` builds what the handlers touch (:class:`auth.deps.Deps`) from settings and
  the shared infrastructure; every field can be passed instead (``**overrides``: unit tests pass
  fakes of the OTP provider and the OTP state there).
- :func:`running` is the service's resources hook (``main.py``'s start): it opens the direct
  asyncpg pool of the sign-in statement, the auto-pipelined Redis connection of the OTP
  scripts and the OTP provider, installs the access-token verifier (auth verifies with its own
  keys), opens messaging (the outbox relay, the analytics publisher) and closes all of it on
  exit.
- :func:`operator_deps` is the same for an operator command (``auth.manage``): a one-connection
  engine and Redis client of its own.

Key material comes from settings; in ENV=local/test a missing key is generated for this process
(settings refuse that in staging/prod).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from common.auth_dependencies import install_jwt_verifier
from common.database import Database, make_engine, make_session_factory
from common.direct_sql import DirectPool, open_direct_pool
from common.jwks import StaticJwks
from common.jwt_verification import JwtVerifier
from common.redis_client import Cache, KeySpace, make_redis
from common.redis_pipelined import PipelinedRedis
from common.service import Infrastructure
from common.session_revocation import RevokedSessions
from common.uow import UnitOfWork
from messaging.analytics import AnalyticsPublisher
from messaging.lifecycle import open_messaging
from messaging.outbox import Outbox
from pydantic import SecretStr

from auth import contracts, tables
from auth.console_provider import ConsoleOtpProvider
from auth.deps import Deps
from auth.otp_outcomes import OtpLimits
from auth.otp_provider import OtpProvider
from auth.otp_state import OtpState
from auth.phone_crypto import PhoneCipher, generate_key_material, load_phone_keys
from auth.refresh_tokens import RefreshTokenCodec
from auth.settings import AuthSettings, OtpProviderName
from auth.signing_keys import KeySet, generate_keyset_config, load_keyset
from auth.twilio_verify import ErrorRecorder, TwilioVerifyProvider

logger = logging.getLogger(__name__)

UNAVAILABLE_DETAIL = "The auth service is temporarily unavailable. Please try again."


@dataclass(frozen=True)
class KeyMaterial:
    keyset: KeySet
    phones: PhoneCipher
    refresh_codec: RefreshTokenCodec
    generated: list[str]


def load_key_material(settings: AuthSettings) -> KeyMaterial:
    generated: list[str] = []
    if settings.jwt_signing_keys and settings.jwt_active_kid:
        keyset = load_keyset(settings.jwt_signing_keys.get_secret_value(), settings.jwt_active_kid)
    else:
        raw, kid = generate_keyset_config()
        keyset = load_keyset(raw, kid)
        generated.append("JWT_SIGNING_KEYS")
    if settings.phone_encryption_keys and settings.phone_encryption_active_key_id:
        active_id = settings.phone_encryption_active_key_id
        phone_keys = load_phone_keys(
            json.loads(settings.phone_encryption_keys.get_secret_value()), active_id
        )
    else:
        active_id = "local"
        phone_keys = load_phone_keys({active_id: generate_key_material()}, active_id)
        generated.append("PHONE_ENCRYPTION_KEYS")
    lookup = _secret_bytes(settings.phone_lookup_key, "PHONE_LOOKUP_KEY", generated)
    pepper = _secret_bytes(settings.refresh_token_pepper, "REFRESH_TOKEN_PEPPER", generated)
    if generated and settings.env.is_deployed:  # settings refuse this; never generate in prod
        raise RuntimeError(f"missing key material in {settings.env.value}: {generated}")
    return KeyMaterial(
        keyset=keyset,
        phones=PhoneCipher(
            phone_keys, active_id, lookup, _previous_bytes(settings.phone_lookup_keys_previous)
        ),
        refresh_codec=RefreshTokenCodec(
            pepper, _previous_bytes(settings.refresh_token_peppers_previous)
        ),
        generated=generated,
    )


def _secret_bytes(secret: Any, name: str, generated: list[str]) -> bytes:
    if secret is not None:
        return bytes(secret.get_secret_value().encode())
    generated.append(name)
    return secrets.token_bytes(32)


def _previous_bytes(values: list[SecretStr]) -> list[bytes]:
    return [value.get_secret_value().encode() for value in values]


def otp_limits(settings: AuthSettings) -> OtpLimits:
    return OtpLimits(
        max_attempts=settings.otp_max_attempts,
        ttl_seconds=settings.otp_ttl_seconds,
        resend_cooldowns_seconds=list(settings.otp_resend_cooldowns_seconds),
        send_streak_window_seconds=settings.otp_send_streak_window_seconds,
        daily_cap_per_phone=settings.otp_daily_cap_per_phone,
        phone_failure_threshold=settings.otp_phone_failure_threshold,
        phone_failure_window_seconds=settings.otp_phone_failure_window_seconds,
        phone_lock_seconds=settings.otp_phone_lock_seconds,
        ip_start_per_hour=settings.otp_ip_start_per_hour,
        ip_start_burst=settings.otp_ip_start_burst,
        ip_verify_per_hour=settings.otp_ip_verify_per_hour,
        ip_verify_burst=settings.otp_ip_verify_burst,
        sms_budget_per_hour=settings.otp_sms_budget_per_hour,
        sms_budget_burst=settings.otp_sms_budget_burst,
        refresh_per_ip_per_hour=settings.refresh_per_ip_per_hour,
        refresh_ip_burst=settings.refresh_ip_burst,
    )


def build_provider(settings: AuthSettings, on_error: ErrorRecorder | None) -> OtpProvider:
    """The configured provider; call inside the running loop (it opens an HTTP session)."""
    if settings.otp_provider == OtpProviderName.CONSOLE:
        return ConsoleOtpProvider(
            code_length=settings.otp_code_length,
            ttl_seconds=settings.otp_ttl_seconds,
            max_checks=settings.otp_max_attempts,
        )
    if settings.twilio_api_key_sid and settings.twilio_api_key_secret:
        username = settings.twilio_api_key_sid
        password = settings.twilio_api_key_secret.get_secret_value()
        auth_kind = "api_key"
    else:
        assert settings.twilio_auth_token is not None  # enforced by settings
        username = str(settings.twilio_account_sid)
        password = settings.twilio_auth_token.get_secret_value()
        auth_kind = "auth_token"
    return TwilioVerifyProvider.create(
        username=username,
        password=password,
        account_sid=str(settings.twilio_account_sid),
        service_sid=str(settings.twilio_verify_service_sid),
        timeout_seconds=settings.twilio_timeout_seconds,
        api_base=settings.twilio_api_base,
        on_error=on_error,
        diagnostics_info={
            "credentials_present": True,
            "credential_kind": auth_kind,
            "account_sid_prefix": str(settings.twilio_account_sid)[:6],
            "api_base_overridden": bool(settings.twilio_api_base),
        },
    )


class Connections(Protocol):
    """What :func:`build_deps` reads of ``common.service.Infrastructure``."""

    @property
    def database(self) -> Database: ...

    @property
    def cache(self) -> Cache: ...


def build_deps(
    settings: AuthSettings,
    infra: Connections,
    *,
    keys: KeyMaterial | None = None,
    direct_pool: DirectPool | None = None,
    scripts: PipelinedRedis | None = None,
    **overrides: Any,
) -> Deps:
    """``overrides`` replace fields of :class:`Deps` (a field passed is never built, so a unit
    test without Postgres or Redis passes ``uow``/``otp``/``revocations``/``provider``).
    ``otp`` is built on ``scripts`` and ``provider`` is never built here: both hold connections
    their opener closes (:func:`running`)."""
    keys = keys or load_key_material(settings)
    builders: dict[str, Callable[[], Any]] = {
        "settings": lambda: settings,
        "uow": lambda: UnitOfWork(
            infra.database.sessions,
            direct_pool=direct_pool,
            unavailable_detail=UNAVAILABLE_DETAIL,
        ),
        "otp": lambda: _otp_state(settings, infra.cache, scripts),
        "phones": lambda: keys.phones,
        "keyset": lambda: keys.keyset,
        "refresh_codec": lambda: keys.refresh_codec,
        "revocations": lambda: RevokedSessions(infra.cache.client, infra.cache.keys),
        "outbox": lambda: Outbox(tables.messaging.outbox, contracts.PUBLISHES),
        "analytics": lambda: analytics_publisher(settings),
    }
    if "provider" not in overrides:
        raise TypeError("build_deps needs the provider (running() opens it)")
    values = {name: build() for name, build in builders.items() if name not in overrides}
    values.update(overrides)
    return Deps(**values)


def analytics_publisher(settings: AuthSettings) -> AnalyticsPublisher:
    """Started by ``open_messaging`` in :func:`running`; an operator command's is never started
    (it signs nobody in)."""
    return AnalyticsPublisher(
        settings.rabbitmq_url, contracts.ANALYTICS, buffer_size=settings.analytics_buffer_size
    )


def _otp_state(settings: AuthSettings, cache: Cache, scripts: PipelinedRedis | None) -> OtpState:
    if scripts is None:
        raise TypeError("build_deps needs ``scripts`` (the OTP scripts' Redis connection)")
    return OtpState(cache.client, scripts, cache.keys, otp_limits(settings))


def access_token_verifier(settings: AuthSettings, deps: Deps) -> JwtVerifier:
    """Verifies auth's own access tokens (its keys, the shared denylist)."""
    revocations: Any = deps.revocations
    return JwtVerifier(
        StaticJwks(deps.keyset.jwks()),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
        revocations=revocations,
    )


@asynccontextmanager
async def running(
    settings: AuthSettings, infra: Infrastructure, keys: KeyMaterial | None = None
) -> AsyncIterator[Deps]:
    """The deps of a running service, with their connections, verifier and messaging."""
    keys = keys or load_key_material(settings)
    async with AsyncExitStack() as stack:
        # The sign-in statement runs on the direct pool (common.direct_sql); the engine serves
        # everything else.
        direct = await stack.enter_async_context(open_direct_pool(settings))
        scripts = PipelinedRedis(settings.redis_url, timeout=settings.redis_timeout_seconds)
        stack.push_async_callback(scripts.aclose)
        otp = _otp_state(settings, infra.cache, scripts)
        provider = build_provider(settings, otp.record_provider_error)
        stack.push_async_callback(provider.close)
        analytics = analytics_publisher(settings)
        deps = build_deps(
            settings,
            infra,
            keys=keys,
            direct_pool=direct,
            otp=otp,
            provider=provider,
            analytics=analytics,
        )
        install_jwt_verifier(infra.app, access_token_verifier(settings, deps))
        await stack.enter_async_context(
            open_messaging(
                infra.app, settings, infra.database, tables.messaging, analytics=analytics
            )
        )
        yield deps


@dataclass(frozen=True)
class _OperatorConnections:
    database: Database
    cache: Cache


@asynccontextmanager
async def operator_deps(settings: AuthSettings, keys: KeyMaterial) -> AsyncIterator[Deps]:
    """Deps for an operator command: one database connection and Redis clients of its own
    (no messaging: the outbox rows it writes are relayed by the running service)."""
    async with AsyncExitStack() as stack:
        engine = make_engine(settings, pool_size=1, max_overflow=0)
        stack.push_async_callback(engine.dispose)
        redis = make_redis(settings)
        stack.push_async_callback(redis.aclose)
        scripts = PipelinedRedis(settings.redis_url, timeout=settings.redis_timeout_seconds)
        stack.push_async_callback(scripts.aclose)
        provider = build_provider(settings, None)
        stack.push_async_callback(provider.close)
        connections = _OperatorConnections(
            Database(engine=engine, sessions=make_session_factory(engine)),
            Cache(client=redis, keys=KeySpace(settings.redis_key_prefix)),
        )
        yield build_deps(settings, connections, keys=keys, scripts=scripts, provider=provider)
