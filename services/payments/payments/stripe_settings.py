"""The Stripe part of the payments settings: a mixin the one settings class inherits.

Environment variables (upper case of the field names):

- ``STRIPE_SECRET_KEY``: ``sk_live_…`` / ``rk_live_…`` (restricted) in ``prod`` only;
  ``sk_test_…`` / ``rk_test_…`` everywhere else. A live key outside ``prod`` and a test key in
  ``prod`` are refused.
- ``STRIPE_API_VERSION``: the API version every request sends (``Stripe-Version``) and the
  webhook endpoint must be configured with, e.g. ``2026-10-28.endive``. The default (the
  version stripe-python pins) is for ``local``/``test``; deployed environments set it.
- ``STRIPE_WEBHOOK_SECRETS``: JSON list of the endpoint's signing secrets (``whsec_…``), the
  current one first; during a roll both the new and the old one are listed (at most four).
- ``STRIPE_API_BASE``: ``local``/``test`` only, the fake Stripe of ``tests/fakes/stripe``.
- ``STRIPE_TIMEOUT_SECONDS`` / ``STRIPE_CONNECT_TIMEOUT_SECONDS``: the whole call / the TCP
  connect, a few seconds (the SDK's default is 80 s). The client never retries by itself.
- ``STRIPE_CIRCUIT_FAILURES`` / ``STRIPE_CIRCUIT_OPEN_SECONDS``: after this many calls in a row
  that Stripe did not answer, calls are refused unsent (the workers' held) for this long, then
  one probes (:mod:`payments.stripe_circuit`).
- ``STRIPE_WEBHOOK_TOLERANCE_SECONDS`` (300, Stripe's) / ``STRIPE_WEBHOOK_MAX_FUTURE_SECONDS``:
  how old, and how far in the future, a signature timestamp may be.
- ``STRIPE_REPLAY_WINDOW_HOURS``: how long after its first attempt a POST may still be replayed
  with its key (20 h; Stripe may forget a key once it is 24 h old, and a replay after that
  executes again). Older requests are settled by lookups only (``transfers.list``), never a POST.
- ``STRIPE_CONNECT_COUNTRY``, ``STRIPE_CONNECT_REFRESH_URL``, ``STRIPE_CONNECT_RETURN_URL``:
  the drivers' Express accounts and where onboarding sends them back (``https`` when deployed).

Outside ``local``/``test`` the key, the webhook secrets, the API version and the onboarding URLs
must be set explicitly, or the service refuses to start naming each problem (never the value).
The check is this mixin's own validator, so it holds whatever order the settings class lists
its bases in.
"""

from __future__ import annotations

import re
from typing import Self

from common.settings import Environment, UnsafeSettingsError
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from payments.stripe_circuit import FAILURES_TO_OPEN, OPEN_SECONDS

# The version stripe-python 16.1 is generated against (stripe._api_version).
SDK_API_VERSION = "2026-10-28.endive"
_KEY = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]+$")
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
_WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9_]{8,}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
LOCAL_ONBOARDING = "http://127.0.0.1:8000/v1/payouts/account"


class StripeSettings(BaseModel):
    """Stripe credentials, API version, webhook secrets and client limits (module doc).

    A group of fields, not a settings source of its own: it reads nothing from the environment
    until the service's one settings class (a ``BaseSettings``) inherits it.
    """

    # A SettingsConfigDict (same keys as the service bases') so the settings class can inherit it.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    stripe_secret_key: SecretStr | None = None
    stripe_api_version: str = SDK_API_VERSION
    stripe_webhook_secrets: list[SecretStr] = Field(default_factory=list, max_length=4)
    stripe_api_base: str | None = None
    stripe_timeout_seconds: float = Field(default=5.0, gt=0, le=10)
    stripe_connect_timeout_seconds: float = Field(default=2.0, gt=0, le=10)
    stripe_circuit_failures: int = Field(default=FAILURES_TO_OPEN, ge=1, le=1000)
    stripe_circuit_open_seconds: float = Field(default=OPEN_SECONDS, gt=0, le=60)
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=30, le=300)
    stripe_webhook_max_future_seconds: int = Field(default=300, ge=0, le=300)
    stripe_replay_window_hours: float = Field(default=20.0, gt=0, le=23)
    stripe_connect_country: str = "US"
    stripe_connect_refresh_url: str = f"{LOCAL_ONBOARDING}/refresh"
    stripe_connect_return_url: str = f"{LOCAL_ONBOARDING}/return"

    @property
    def stripe_livemode(self) -> bool:
        """Whether the key moves real money (webhook events must then say ``livemode``)."""
        key = self.stripe_secret_key
        return key is not None and "_live_" in key.get_secret_value()[:8]

    def stripe_problems(self, env: Environment) -> list[str]:
        """Why this Stripe configuration is unusable in ``env`` (empty when it is fine)."""
        problems = self._key_problems(env)
        if not _API_VERSION.match(self.stripe_api_version):
            problems.append("STRIPE_API_VERSION: must look like 2026-10-28.endive")
        problems.extend(self._webhook_secret_problems())
        if not _COUNTRY.match(self.stripe_connect_country):
            problems.append("STRIPE_CONNECT_COUNTRY: must be an ISO 3166-1 alpha-2 code (US)")
        if self.stripe_api_base is not None and not re.match(
            r"^https?://[^/\s]+", self.stripe_api_base
        ):
            problems.append("STRIPE_API_BASE: must be an absolute http(s) URL")
        if env.is_deployed:
            problems.extend(self._deployed_problems())
        return problems

    def _key_problems(self, env: Environment) -> list[str]:
        key = self.stripe_secret_key
        if key is None:
            return ["STRIPE_SECRET_KEY: required"] if env.is_deployed else []
        match = _KEY.match(key.get_secret_value())
        if match is None:
            return ["STRIPE_SECRET_KEY: must be a secret (sk_) or restricted (rk_) API key"]
        live = match.group(2) == "live"
        if env == Environment.PROD and not live:
            return ["STRIPE_SECRET_KEY: a test-mode key is refused with ENV=prod"]
        if env != Environment.PROD and live:
            return [f"STRIPE_SECRET_KEY: a live-mode key is refused with ENV={env.value}"]
        return []

    def _webhook_secret_problems(self) -> list[str]:
        problems = []
        values = [s.get_secret_value() for s in self.stripe_webhook_secrets]
        for i, value in enumerate(values):
            if not _WEBHOOK_SECRET.match(value):
                problems.append(f"STRIPE_WEBHOOK_SECRETS[{i}]: must be a signing secret (whsec_)")
        if len(set(values)) != len(values):
            problems.append("STRIPE_WEBHOOK_SECRETS: lists the same secret twice")
        return problems

    def _deployed_problems(self) -> list[str]:
        problems = []
        if "stripe_api_version" not in self.model_fields_set:
            problems.append("STRIPE_API_VERSION: must be set explicitly (pin the account's)")
        if not self.stripe_webhook_secrets:
            problems.append("STRIPE_WEBHOOK_SECRETS: at least one signing secret is required")
        if self.stripe_api_base is not None:
            problems.append("STRIPE_API_BASE: must be unset (it points the SDK away from Stripe)")
        for name in ("stripe_connect_refresh_url", "stripe_connect_return_url"):
            value = getattr(self, name)
            if name not in self.model_fields_set or not value.startswith("https://"):
                problems.append(f"{name.upper()}: must be set explicitly to an https URL")
        return problems

    def _env(self) -> Environment:
        env = getattr(self, "env", None)
        if not isinstance(env, Environment):
            raise TypeError("StripeSettings is a mixin of a ServiceSettings class (it needs ENV)")
        return env

    def unsafe_settings(self) -> list[str]:
        """The base's problems plus Stripe's (when this mixin precedes the base in the MRO)."""
        inherited = getattr(super(), "unsafe_settings", None)
        problems: list[str] = list(inherited()) if inherited is not None else []
        return _merged(problems, self.stripe_problems(self._env()))

    @model_validator(mode="after")
    def _refuse_unusable_stripe(self) -> Self:
        env = self._env()
        problems = self.stripe_problems(env)
        if env.is_deployed:  # report every problem at once, whichever validator runs first
            problems = _merged(self.unsafe_settings(), problems)
        if problems:
            raise UnsafeSettingsError(env, problems)
        return self


def _merged(first: list[str], second: list[str]) -> list[str]:
    return first + [problem for problem in second if problem not in first]
