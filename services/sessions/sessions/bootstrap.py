"""The composition root of the sessions service: the only module that imports adapters.

``build_deps`` builds what the use cases need from settings and the shared infrastructure
(tests pass overrides: an outbox that fails, …); ``running`` opens messaging with those deps
(the consumers get them as ``delivery.deps``) and starts the housekeeping jobs; the activation's
common case runs as one statement on a direct asyncpg pool (``common.direct_sql``) of up to
``DB_POOL_SIZE`` connections beside the engine's. In ENV=local/test missing phone keys are
generated for this process; settings refuse that in staging/prod.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from common.direct_sql import DirectPool, open_direct_pool
from common.periodic import run_periodic_jobs
from common.service import Infrastructure
from common.uow import UnitOfWork
from messaging.analytics import AnalyticsPublisher
from messaging.inbox import Inbox
from messaging.lifecycle import open_messaging
from messaging.outbox import Outbox

from sessions import consumers, contracts, jobs, tables
from sessions.deps import Deps, SessionRules
from sessions.merchant_rules import MerchantLimits
from sessions.metrics import SessionMetrics
from sessions.phone_crypto import PhoneCipher, generate_key_material, load_phone_keys
from sessions.settings import SessionsSettings


def build_phone_cipher(settings: SessionsSettings) -> PhoneCipher:
    if settings.phone_encryption_keys and settings.phone_encryption_active_key_id:
        active = settings.phone_encryption_active_key_id
        keys = load_phone_keys(
            json.loads(settings.phone_encryption_keys.get_secret_value()), active
        )
    elif settings.env.is_deployed:  # settings refuse this; never generate keys in prod
        raise RuntimeError("PHONE_ENCRYPTION_KEYS missing")
    else:
        active = "local"
        keys = load_phone_keys({active: generate_key_material()}, active)
    if settings.phone_lookup_key is not None:
        lookup = settings.phone_lookup_key.get_secret_value().encode()
    elif settings.env.is_deployed:
        raise RuntimeError("PHONE_LOOKUP_KEY missing")
    else:
        lookup = secrets.token_bytes(32)
    return PhoneCipher(keys, active, lookup)


def session_rules(settings: SessionsSettings) -> SessionRules:
    return SessionRules(
        ttl_seconds=settings.session_ttl_seconds,
        walking_distance_m=settings.walking_distance_m,
        stuck_after_seconds=settings.stuck_after_seconds,
        nearby_max_radius_m=settings.nearby_max_radius_m,
        nearby_max_limit=settings.nearby_max_limit,
        import_max_chargers=settings.import_max_chargers,
        housekeeping_batch_size=settings.housekeeping_batch_size,
    )


def merchant_limits(settings: SessionsSettings) -> MerchantLimits:
    return MerchantLimits(
        billing_min_minor=settings.billing_amount_min_minor,
        billing_max_minor=settings.billing_amount_max_minor,
        currencies=tuple(settings.billing_currencies),
        reward_max=settings.reward_nova_max,
        phone_country_codes=tuple(settings.notification_phone_country_codes),
    )


def build_deps(
    settings: SessionsSettings,
    infra: Infrastructure,
    *,
    direct: DirectPool | None = None,
    **overrides: Any,
) -> Deps:
    """``direct``: the asyncpg pool of the activation's one statement (``uow.direct``)."""
    parts: dict[str, Any] = {
        "uow": UnitOfWork(
            infra.database.sessions,
            direct_pool=direct,
            unavailable_detail="The sessions service cannot reach its database; try again.",
        ),
        "outbox": Outbox(tables.messaging.outbox, contracts.PUBLISHES),
        "inbox": Inbox(tables.messaging.inbox),
        "phones": build_phone_cipher(settings),
        "rules": session_rules(settings),
        "merchant_limits": merchant_limits(settings),
        "metrics": SessionMetrics(getattr(infra.app.state, "metrics_registry", None)),
        "analytics": AnalyticsPublisher(
            settings.rabbitmq_url, contracts.ANALYTICS, buffer_size=settings.analytics_buffer_size
        ),
    }
    parts.update(overrides)
    return Deps(**parts)


@asynccontextmanager
async def running(
    settings: SessionsSettings, infra: Infrastructure, **overrides: Any
) -> AsyncIterator[Deps]:
    async with open_direct_pool(settings) as direct:
        deps = build_deps(settings, infra, direct=direct, **overrides)
        async with _background(settings, infra, deps):
            yield deps


@asynccontextmanager
async def _background(
    settings: SessionsSettings, infra: Infrastructure, deps: Deps
) -> AsyncIterator[None]:
    """Messaging (the consumers get ``deps``; the analytics publisher, unless a test passed
    another) and the housekeeping jobs."""
    publisher = deps.analytics if isinstance(deps.analytics, AnalyticsPublisher) else None
    async with (
        open_messaging(
            infra.app,
            settings,
            infra.database,
            tables.messaging,
            consumers.subscriptions,
            deps=deps,
            analytics=publisher,
        ),
        run_periodic_jobs(infra.app, jobs.periodic_jobs(deps, settings)),
    ):
        yield
