"""OTP challenges and limits in Redis: the state that must survive a restart of any replica.

Keys (all under ``<REDIS_KEY_PREFIX>:auth:``)::

    otp:ch:<challenge id>          hash: st, exp (ms), att, ph, vs, pe, pk, uc (see handlers)
    otp:phone:<hash>:current       live challenge id of the phone (resend reuses it)
    otp:phone:<hash>:cooldown      resend cooldown (TTL)        :streak  sends in a row
    otp:phone:<hash>:day           sends in 24 h                :fails   wrong codes (window)
    otp:phone:<hash>:lock          verification lock across challenges (TTL)
    rl:ip:<ip>:start|verify|refresh  GCRA per client IP      rl:sms-budget  global GCRA
    otp:provider-errors:<hour>     hash: "<operation>:<code>" -> count

Every call fails closed: a Redis error is :class:`DependencyUnavailableError` (503).

The scripts run on :class:`~common.redis_pipelined.PipelinedRedis` (one auto-pipelined
connection: a sign-in runs two scripts, and redis-py's pool checkout, packing and tracing hooks
cost more CPU than the scripts themselves); each operation is one client span named after it.
The few plain commands and the readiness ping use the service's redis-py client.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from common.redis_client import KeySpace
from common.redis_pipelined import PipelinedRedis
from opentelemetry import trace
from redis.asyncio import Redis
from redis.exceptions import RedisError

from auth import otp_scripts
from auth.errors import DependencyUnavailableError
from auth.otp_outcomes import Decision, LiveChallenge, OtpLimits, VerifyAttempt

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
T = TypeVar("T")


def _hour_ms(per_hour: int) -> int:
    return max(1, 3_600_000 // per_hour)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class OtpState:
    def __init__(
        self, client: Redis, scripts: PipelinedRedis, keys: KeySpace, limits: OtpLimits
    ) -> None:
        self._client = client
        self._scripts = scripts
        self._keys = keys
        self.limits = limits

    # ---- key names
    def _k(self, *parts: str) -> str:
        return self._keys.key("auth", *parts)

    def challenge_key(self, challenge_id: str) -> str:
        return self._k("otp", "ch", challenge_id)

    def phone_key(self, phone_hash: str, what: str) -> str:
        return self._k("otp", "phone", phone_hash, what)

    def ip_key(self, ip: str, action: str) -> str:
        return self._k("rl", "ip", ip, action)

    async def _run(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        try:
            with tracer.start_as_current_span(
                f"otp_state {operation}",
                kind=trace.SpanKind.CLIENT,
                attributes={"db.system.name": "redis", "db.operation.name": operation},
            ):
                return await call()
        except (RedisError, OSError) as exc:
            logger.warning(
                "otp state unavailable", extra={"operation": operation, "error": type(exc).__name__}
            )
            raise DependencyUnavailableError(
                "Sign-in is temporarily unavailable. Please try again shortly.", retry_after=5
            ) from None

    async def _eval(
        self, operation: str, script: str, keys: list[str], args: Sequence[str | int] = ()
    ) -> Any:
        return await self._run(operation, lambda: self._scripts.run_script(script, keys, args))

    # ---- send
    async def begin_send(self, phone_hash: str, ip: str) -> Decision:
        lim = self.limits
        keys = [
            self.ip_key(ip, "start"),
            self.phone_key(phone_hash, "day"),
            self.phone_key(phone_hash, "cooldown"),
            self.phone_key(phone_hash, "streak"),
            self._k("rl", "sms-budget"),
            self.phone_key(phone_hash, "lock"),
        ]
        args: list[int] = [
            _hour_ms(lim.ip_start_per_hour),
            lim.ip_start_burst,
            lim.daily_cap_per_phone,
            lim.send_streak_window_seconds * 1000,
            _hour_ms(lim.sms_budget_per_hour),
            lim.sms_budget_burst,
            *(s * 1000 for s in lim.resend_cooldowns_seconds),
        ]
        result = await self._eval("begin_send", otp_scripts.BEGIN_SEND, keys, args)
        return Decision(outcome=_text(result[0]), wait_seconds=int(result[1]) / 1000)

    async def refund_send(self, phone_hash: str) -> None:
        keys = [
            self.phone_key(phone_hash, "day"),
            self.phone_key(phone_hash, "cooldown"),
            self.phone_key(phone_hash, "streak"),
            self._k("rl", "sms-budget"),
        ]
        args = [_hour_ms(self.limits.sms_budget_per_hour)]
        await self._eval("refund_send", otp_scripts.REFUND_SEND, keys, args)

    async def live_challenge(self, phone_hash: str) -> LiveChallenge | None:
        keys = [self.phone_key(phone_hash, "current")]
        args = [self.challenge_key("")]
        found = await self._eval("live_challenge", otp_scripts.LIVE_CHALLENGE, keys, args)
        if not found:
            return None
        return LiveChallenge(
            challenge_id=_text(found[0]),
            status=_text(found[1]),
            remaining_ms=int(found[2]),
            attempts=int(found[3]),
        )

    async def create_challenge(
        self, *, phone_hash: str, verification_id: str, phone_ciphertext: str, phone_key_id: str
    ) -> tuple[str, int]:
        """A new pending challenge; returns its id and its lifetime in ms."""
        challenge_id = secrets.token_urlsafe(24)
        ttl_ms = self.limits.ttl_seconds * 1000
        keys = [self.challenge_key(challenge_id), self.phone_key(phone_hash, "current")]
        args: list[str | int] = [
            challenge_id,
            phone_hash,
            verification_id,
            phone_ciphertext,
            phone_key_id,
            ttl_ms,
            3_600_000,
        ]
        await self._eval("create_challenge", otp_scripts.CREATE_CHALLENGE, keys, args)
        return challenge_id, ttl_ms

    async def set_verification(self, challenge_id: str, verification_id: str) -> None:
        key = self.challenge_key(challenge_id)
        await self._run("set_verification", lambda: self._client.hset(key, "vs", verification_id))

    # ---- verify
    async def begin_verify(self, challenge_id: str, ip: str) -> VerifyAttempt:
        lim = self.limits
        keys = [self.challenge_key(challenge_id), self.ip_key(ip, "verify")]
        args: list[str | int] = [
            _hour_ms(lim.ip_verify_per_hour),
            lim.ip_verify_burst,
            lim.max_attempts,
            self._k("otp", "phone", ""),
        ]
        r = await self._eval("begin_verify", otp_scripts.BEGIN_VERIFY, keys, args)
        outcome = _text(r[0])
        if outcome != "ok":
            return VerifyAttempt(outcome=outcome, wait_seconds=int(r[1]) / 1000)
        return VerifyAttempt(
            outcome=outcome,
            attempts=int(r[1]),
            phone_hash=_text(r[2]),
            verification_id=_text(r[3]),
            phone_ciphertext=_text(r[4]),
            phone_key_id=_text(r[5]),
            remaining_ms=int(r[6]),
        )

    async def wrong_code(self, challenge_id: str, phone_hash: str) -> Decision:
        lim = self.limits
        keys = [
            self.challenge_key(challenge_id),
            self.phone_key(phone_hash, "fails"),
            self.phone_key(phone_hash, "lock"),
            self.phone_key(phone_hash, "current"),
            self.phone_key(phone_hash, "cooldown"),
        ]
        args: list[str | int] = [
            challenge_id,
            lim.max_attempts,
            lim.phone_failure_window_seconds * 1000,
            lim.phone_failure_threshold,
            lim.phone_lock_seconds * 1000,
        ]
        r = await self._eval("wrong_code", otp_scripts.WRONG_CODE, keys, args)
        outcome = _text(r[0])
        if outcome == "invalid":
            return Decision(outcome=outcome, remaining=int(r[1]))
        return Decision(outcome=outcome, wait_seconds=int(r[1]) / 1000)

    async def approved(self, challenge_id: str, phone_hash: str) -> bool:
        keys = [
            self.challenge_key(challenge_id),
            self.phone_key(phone_hash, "fails"),
            self.phone_key(phone_hash, "current"),
        ]
        first = await self._eval("approved", otp_scripts.APPROVED, keys, [challenge_id])
        return bool(int(first))

    async def refund_attempt(self, challenge_id: str) -> None:
        keys = [self.challenge_key(challenge_id)]
        await self._eval("refund_attempt", otp_scripts.REFUND_ATTEMPT, keys)

    async def exhaust(self, challenge_id: str, phone_hash: str) -> None:
        keys = [self.challenge_key(challenge_id), self.phone_key(phone_hash, "current")]
        await self._eval("exhaust", otp_scripts.EXHAUST, keys, [challenge_id])

    async def challenge_status(self, challenge_id: str) -> str | None:
        key = self.challenge_key(challenge_id)
        status = await self._run("challenge_status", lambda: self._client.hget(key, "st"))
        return _text(status) if status is not None else None

    async def note_unanswered_check(self, challenge_id: str, code_digest: str) -> None:
        """Remembers (on the challenge, for its lifetime) the code of a check that got no answer:
        the provider may have approved it."""
        keys = [self.challenge_key(challenge_id)]
        await self._eval("note_unanswered", otp_scripts.NOTE_UNANSWERED, keys, [code_digest])

    async def unanswered_check(self, challenge_id: str) -> str | None:
        key = self.challenge_key(challenge_id)
        digest = await self._run("unanswered_check", lambda: self._client.hget(key, "uc"))
        return _text(digest) if digest is not None else None

    async def mark_spent(self, challenge_id: str) -> None:
        keys = [self.challenge_key(challenge_id)]
        try:
            await self._scripts.run_script(otp_scripts.MARK_SPENT, keys, ())
        except (RedisError, OSError) as exc:
            logger.warning("challenge not marked spent", extra={"error": type(exc).__name__})

    async def cooldown_seconds(self, phone_hash: str) -> float:
        key = self.phone_key(phone_hash, "cooldown")
        ttl = await self._run("cooldown", lambda: self._client.pttl(key))
        return max(0, int(ttl)) / 1000

    # ---- generic per-IP limit (refresh)
    async def hit_ip_limit(self, ip: str, action: str, per_hour: int, burst: int) -> float:
        """Counts one request; returns 0 when allowed, else the seconds to wait."""
        keys = [self.ip_key(ip, action)]
        args = [_hour_ms(per_hour), burst]
        wait = await self._eval("ip_limit", otp_scripts.GCRA_ONLY, keys, args)
        return int(wait) / 1000

    # ---- diagnostics
    async def record_provider_error(self, operation: str, label: str) -> None:
        key = self._k("otp", "provider-errors", str(int(time.time() // 3600)))
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.hincrby(key, f"{operation}:{label}", 1)
                pipe.expire(key, 26 * 3600)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning("provider error not recorded", extra={"error": type(exc).__name__})

    async def provider_error_counts(self, hours: int = 24) -> dict[str, int]:
        now_hour = int(time.time() // 3600)
        keys = [self._k("otp", "provider-errors", str(now_hour - i)) for i in range(hours)]
        totals: dict[str, int] = {}
        async with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            buckets = await pipe.execute()
        for bucket in buckets:
            for field, count in bucket.items():
                name = _text(field)
                totals[name] = totals.get(name, 0) + int(count)
        return totals

    async def ping(self) -> bool:
        return bool(await self._client.ping())
