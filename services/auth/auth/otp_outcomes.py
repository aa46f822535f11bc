"""What the OTP state answers: limits it enforces and the outcomes of its decisions.

Plain values shared by the Redis adapter (:mod:`auth.otp_state`), the port the handlers see
(:class:`auth.deps.OtpStore`) and the fakes of the unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OtpLimits:
    max_attempts: int
    ttl_seconds: int
    resend_cooldowns_seconds: list[int]
    send_streak_window_seconds: int
    daily_cap_per_phone: int
    phone_failure_threshold: int
    phone_failure_window_seconds: int
    phone_lock_seconds: int
    ip_start_per_hour: int
    ip_start_burst: int
    ip_verify_per_hour: int
    ip_verify_burst: int
    sms_budget_per_hour: int
    sms_budget_burst: int
    refresh_per_ip_per_hour: int
    refresh_ip_burst: int


@dataclass(frozen=True)
class Decision:
    """``outcome`` of a send (``ok``, ``rate_limited``, ``locked``, ``send_limit``,
    ``cooldown``, ``budget``) or of a wrong code (``invalid``, ``exhausted``, ``locked``)."""

    outcome: str
    wait_seconds: float = 0.0
    remaining: int = 0


@dataclass(frozen=True)
class LiveChallenge:
    challenge_id: str
    status: str
    remaining_ms: int
    attempts: int


@dataclass(frozen=True)
class VerifyAttempt:
    """``outcome``: ``ok`` (the attempt is counted), ``rate_limited``, ``not_found``,
    ``already_used``, ``expired``, ``locked`` or ``max_attempts``."""

    outcome: str
    wait_seconds: float = 0.0
    attempts: int = 0
    phone_hash: str = ""
    verification_id: str = ""
    phone_ciphertext: str = ""
    phone_key_id: str = ""
    remaining_ms: int = 0
