"""Settings mixin for services that verify access tokens (every service behind the gateway)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class JwtVerificationSettings(BaseSettings):
    """Where the auth service's public keys live and which tokens this service accepts."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    jwks_url: str = "http://127.0.0.1:8001/v1/auth/jwks.json"
    jwt_issuer: str = "https://auth.nerava.app"
    jwt_audience: str = "nerava-api"
    jwt_leeway_seconds: float = Field(default=10.0, ge=0, le=60)
    jwks_cache_seconds: float = Field(default=600.0, gt=0, le=3600)
    jwks_min_refetch_seconds: float = Field(default=30.0, ge=1, le=600)
    jwks_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
