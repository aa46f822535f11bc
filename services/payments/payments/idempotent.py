"""Runs a money-moving use case at most once per idempotency key (reference/payments.md §1).

1. Claim the key in one autocommit statement (``INSERT … ON CONFLICT DO NOTHING``). When it
   exists: a different payload hash -> 409 ``idempotency_key_reused``; completed -> the stored
   response, byte for byte, ``replayed``; in flight with a live lease -> 409
   ``idempotency_key_in_use`` with ``Retry-After``; a lease that expired (its owner died) is
   taken over.
2. Do the work and store its response on the key in ONE transaction: either both commit or
   neither. The work's journal reference derives from the key id, so even a taken-over lease
   cannot post twice (``UNIQUE(kind, external_ref)``).
3. If the work fails (outage, bug), the claim is released so a retry executes afresh.

Callers check kill switches *before* calling: a blocked request never consumes its key.

A hot path may run step 1 itself (a claim statement guarded by its own checks, with
:func:`claim_params`; :func:`resolve_taken_key` when the key exists) and steps 2-3 with
:func:`run_claimed` on the direct pool: the same rules, fewer round trips, no engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from common.direct_sql import DirectTransaction
from common.errors import DependencyUnavailable
from sqlalchemy.ext.asyncio import AsyncSession

from payments import audit
from payments import idempotency_store as store
from payments.audit import AuditRecord
from payments.deps import PaymentsDeps
from payments.errors import (
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
)
from payments.idempotency_keys import IdempotentRequest, StoredResponse

logger = logging.getLogger(__name__)

Work = Callable[[AsyncSession, str], Awaitable[StoredResponse]]
"""The use case inside its transaction, given the business reference of this request."""


@dataclass(frozen=True, slots=True)
class DirectOutcome:
    """What a use case on the direct pool answers: the response (stored on the key) and the
    audit row of the change it made (None: it changed nothing), written together with the key's
    completion as the transaction's last statement."""

    response: StoredResponse
    audit: AuditRecord | None = None


DirectWork = Callable[[DirectTransaction, str], Awaitable[DirectOutcome]]
"""The use case inside its transaction on the direct pool, given the business reference."""

Precheck = Callable[[], Awaitable[None]]
"""Read-only checks that refuse a request before its key is claimed (raise to refuse)."""


async def run_idempotent(
    deps: PaymentsDeps, request: IdempotentRequest, work: Work, *, precheck: Precheck | None = None
) -> StoredResponse:
    """``precheck`` runs before the key is written: a refusal (unknown merchant, …) leaves
    nothing behind and is not stored."""
    if precheck is not None:
        await precheck()
    if request.key is None:  # ENV=local without a key: one request, one execution
        async with deps.uow() as tx:
            return await work(tx, f"request:{uuid.uuid4().hex}")
    claimed = await claim(deps, request)
    if isinstance(claimed, StoredResponse):
        return claimed
    await deps.hooks.after_claim(request.scope)
    try:
        async with deps.uow() as tx:
            response = await work(tx, f"key:{claimed}")
            if not await store.complete(tx, claimed, response):
                raise IdempotencyKeyInUseError(
                    "Another attempt completed this request.", retry_after=1
                )
        return response
    except BaseException:
        await asyncio.shield(_release(deps, claimed))
        raise


async def run_claimed(
    deps: PaymentsDeps, request: IdempotentRequest, claimed: int | None, work: DirectWork
) -> StoredResponse:
    """Steps 2 and 3 on the direct pool for the key ``claimed`` (its id; None: the request
    has no key, ENV=local): the work and the key's response commit together, or neither and
    the claim is released."""
    if claimed is None:
        async with deps.uow.direct_transaction() as tx:
            outcome = await work(tx, f"request:{uuid.uuid4().hex}")
            if outcome.audit is not None:
                await audit.append_direct(tx, outcome.audit)
        return outcome.response
    await deps.hooks.after_claim(request.scope)
    try:
        async with deps.uow.direct_transaction() as tx:
            outcome = await work(tx, f"key:{claimed}")
            done = await store.complete_direct(
                tx, claimed, outcome.response, audit_record=outcome.audit
            )
            if not done:
                raise IdempotencyKeyInUseError(
                    "Another attempt completed this request.", retry_after=1
                )
        return outcome.response
    except BaseException:
        await asyncio.shield(_release(deps, claimed))
        raise


def claim_params(deps: PaymentsDeps, request: IdempotentRequest) -> dict[str, Any]:
    """The parameters of a key claim (``store.CLAIM``) with this service's lease and retention."""
    settings = deps.settings
    return store.claim_params(
        request,
        lease=timedelta(seconds=settings.idempotency_lease_seconds),
        retention=timedelta(hours=settings.idempotency_retention_hours),
    )


async def claim(deps: PaymentsDeps, request: IdempotentRequest) -> int | StoredResponse:
    """Step 1: the claimed key's id, or the stored response of a completed one (raises the
    refusals of :func:`resolve_taken_key`)."""
    inserted = await deps.uow.direct(store.CLAIM, claim_params(deps, request))  # autocommit
    if inserted is not None:
        return int(inserted["id"])
    return await resolve_taken_key(deps, request)


async def resolve_taken_key(deps: PaymentsDeps, request: IdempotentRequest) -> int | StoredResponse:
    """The claim found the key taken: its stored response (replay), a refusal (raised), or its
    id when the lease of a dead owner is taken over."""
    lease = timedelta(seconds=deps.settings.idempotency_lease_seconds)
    async with deps.uow() as tx:  # the key exists: replay, refuse, or take over a dead lease
        existing = await store.find_for_update(tx, request)
        if existing is None:  # reaped between the two statements: the client retries
            raise IdempotencyKeyInUseError("Retry this request.", retry_after=1)
        if existing.request_hash != request.body_hash:
            raise IdempotencyKeyReusedError(
                "This Idempotency-Key was used with a different request; use a new key."
            )
        if existing.response is not None:
            return existing.response
        if existing.lease_seconds_left > 0:
            raise IdempotencyKeyInUseError(
                "A request with this Idempotency-Key is still in progress.",
                retry_after=existing.lease_seconds_left,
            )
        await store.renew_lease(tx, existing.id, lease=lease)
        logger.info("idempotency lease taken over", extra={"scope": request.scope})
        return existing.id


async def _release(deps: PaymentsDeps, key_id: int) -> None:
    with contextlib.suppress(DependencyUnavailable):
        async with deps.uow() as tx:
            await store.release(tx, key_id)
