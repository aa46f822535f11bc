"""HTTP routes of the auth service: parse -> call a use case -> respond. No SQL, no commit."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from common.auth_dependencies import AdminUser, CurrentUser
from common.errors import InvalidInput
from common.openapi_errors import ADMIN, SIGNED_IN, documented_pattern, problems
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from auth import account_handlers, handlers, session_handlers
from auth import errors as e
from auth.deps import Deps
from auth.session_handlers import LogoutScope, SignedIn

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


HandlerDeps = Annotated[Deps, Depends(get_deps)]


async def client_ip(request: Request) -> str:
    """The client IP, only from the gateway's trusted header (it strips incoming copies).

    ``async`` like every dependency here: FastAPI runs a sync dependency in a thread pool.

    IPv6 addresses are bucketed by /64 (one subscriber); requests without the header (not
    through the gateway) share one bucket.
    """
    deps: Deps = request.app.state.deps
    raw = request.headers.get(deps.settings.client_ip_header, "").strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((address, 64), strict=False).network_address)
    return (
        str(address.ipv4_mapped or address)
        if isinstance(address, ipaddress.IPv6Address)
        else str(address)
    )


ClientIp = Annotated[str, Depends(client_ip)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# What the handlers check themselves (answering their own codes), as schema patterns.
PHONE_SHAPE = r"^\s*\+?[0-9][0-9 ().-]{5,30}[0-9]\s*$"
CHALLENGE_ID_SHAPE = r"^[A-Za-z0-9_-]{16,64}$"
CODE_SHAPE = r"^[0-9]{4,10}$"
REFRESH_TOKEN_SHAPE = r"^nrt_[A-Za-z0-9_-]{43}$"


class OtpStartBody(_Body):
    phone: str = Field(
        min_length=1, max_length=32, json_schema_extra=documented_pattern(PHONE_SHAPE)
    )


class OtpStartResponse(BaseModel):
    challenge_id: str
    expires_in: int
    resend_available_in: int
    code_length: int


class OtpVerifyBody(_Body):
    challenge_id: str = Field(
        min_length=1, max_length=64, json_schema_extra=documented_pattern(CHALLENGE_ID_SHAPE)
    )
    code: str = Field(min_length=1, max_length=16, json_schema_extra=documented_pattern(CODE_SHAPE))


class UserOut(BaseModel):
    id: uuid.UUID
    role: str
    phone_masked: str


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    session_id: str
    user: UserOut


class RefreshBody(_Body):
    refresh_token: str = Field(
        min_length=1, max_length=256, json_schema_extra=documented_pattern(REFRESH_TOKEN_SHAPE)
    )


class LogoutBody(_Body):
    scope: LogoutScope = LogoutScope.LOCAL


class MeResponse(BaseModel):
    id: uuid.UUID
    role: str
    status: str
    phone_masked: str
    session_id: str


class ConsentBody(_Body):
    analytics: bool
    marketing: bool
    policy_version: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")


class ConsentResponse(BaseModel):
    analytics: bool
    marketing: bool
    policy_version: str | None
    updated_at: datetime | None


class UserStatusBody(_Body):
    status: Literal["active", "disabled"]


def _json(model: BaseModel, *, status_code: int = 200) -> Response:
    """The model serialised once, by pydantic, as the response body.

    The route still declares ``response_model`` for the OpenAPI document; returning a
    ``Response`` spares FastAPI re-validating a model we just built (tens of µs per sign-in).
    """
    return Response(
        model.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers=NO_STORE,
    )


def _tokens(signed: SignedIn) -> Response:
    return _json(
        TokenResponse(
            access_token=signed.access_token,
            refresh_token=signed.refresh_token,
            expires_in=signed.expires_in,
            session_id=signed.session_id,
            user=UserOut(
                id=signed.user.id, role=signed.user.role, phone_masked=signed.user.phone_masked
            ),
        )
    )


@router.post(
    "/v1/auth/otp/start",
    status_code=202,
    response_model=OtpStartResponse,
    responses=problems(
        e.InvalidPhoneNumberError,
        e.PhoneRegionUnsupportedError,
        e.OtpSendBlockedError,
        e.OtpResendCooldownError,
        e.OtpSendLimitExceededError,
        e.RateLimitedError,
        e.VerificationLockedError,
        e.OtpProviderUnavailableError,
        e.ServiceMisconfiguredError,
    ),
)
async def start_otp(body: OtpStartBody, deps: HandlerDeps, ip: ClientIp) -> Response:
    started = await handlers.start_otp(deps, phone=body.phone, client_ip=ip)
    return _json(
        OtpStartResponse(
            challenge_id=started.challenge_id,
            expires_in=started.expires_in,
            resend_available_in=started.resend_available_in,
            code_length=started.code_length,
        ),
        status_code=202,
    )


@router.post(
    "/v1/auth/otp/verify",
    response_model=TokenResponse,
    responses=problems(
        InvalidInput,
        e.OtpInvalidError,
        e.AccountDisabledError,
        e.OtpChallengeNotFoundError,
        e.OtpAlreadyUsedError,
        e.OtpExpiredError,
        e.OtpMaxAttemptsError,
        e.VerificationLockedError,
        e.RateLimitedError,
        e.OtpProviderUnavailableError,
        e.ServiceMisconfiguredError,
    ),
)
async def verify_otp(body: OtpVerifyBody, deps: HandlerDeps, ip: ClientIp) -> Response:
    signed = await handlers.verify_otp(
        deps, challenge_id=body.challenge_id, code=body.code, client_ip=ip
    )
    return _tokens(signed)


@router.post(
    "/v1/auth/token/refresh",
    response_model=TokenResponse,
    responses=problems(
        e.RefreshTokenInvalidError,
        e.RefreshTokenReusedError,
        e.SessionExpiredError,
        e.RefreshSessionRevokedError,
        e.AccountDisabledError,
        e.RateLimitedError,
    ),
)
async def refresh(body: RefreshBody, deps: HandlerDeps, ip: ClientIp) -> Response:
    signed = await session_handlers.refresh(deps, refresh_token=body.refresh_token, client_ip=ip)
    return _tokens(signed)


@router.post("/v1/auth/logout", status_code=204, responses=problems(*SIGNED_IN))
async def logout(user: CurrentUser, deps: HandlerDeps, body: LogoutBody | None = None) -> Response:
    scope = body.scope if body is not None else LogoutScope.LOCAL
    await session_handlers.logout(deps, user=user, scope=scope)
    return Response(status_code=204)


@router.get(
    "/v1/auth/me",
    response_model=MeResponse,
    responses=problems(*SIGNED_IN, e.UserNotFoundError),
)
async def me(user: CurrentUser, deps: HandlerDeps) -> Any:
    profile = await account_handlers.get_profile(deps, user.user_id)
    return _json(  # personal data: never stored by a cache (no-store)
        MeResponse(
            id=profile.id,
            role=profile.role,
            status=profile.status,
            phone_masked=profile.phone_masked,
            session_id=user.session_id,
        )
    )


@router.get("/v1/auth/jwks.json")
@router.head("/v1/auth/jwks.json", operation_id="jwks_head")
async def jwks(deps: HandlerDeps, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return deps.keyset.jwks()


@router.get(
    "/v1/account/consent",
    response_model=ConsentResponse,
    responses=problems(*SIGNED_IN, e.UserNotFoundError),
)
async def get_consent(user: CurrentUser, deps: HandlerDeps) -> Any:
    consent = await account_handlers.get_consent(deps, user.user_id)
    return ConsentResponse(**consent.__dict__)


@router.put(
    "/v1/account/consent",
    response_model=ConsentResponse,
    responses=problems(*SIGNED_IN, e.UserNotFoundError),
)
async def put_consent(body: ConsentBody, user: CurrentUser, deps: HandlerDeps) -> Any:
    consent = await account_handlers.set_consent(
        deps,
        user.user_id,
        analytics=body.analytics,
        marketing=body.marketing,
        policy_version=body.policy_version,
    )
    return ConsentResponse(**consent.__dict__)


@router.get("/v1/admin/otp/diagnostics", responses=problems(*ADMIN))
async def otp_diagnostics(admin: AdminUser, deps: HandlerDeps) -> dict[str, Any]:
    return await account_handlers.otp_diagnostics(deps)


@router.post("/v1/admin/users/{user_id}/sessions/revoke", responses=problems(*ADMIN))
async def revoke_user_sessions(
    user_id: uuid.UUID, admin: AdminUser, deps: HandlerDeps
) -> dict[str, int]:
    revoked = await session_handlers.revoke_user_sessions(
        deps, user_id=user_id, reason="admin_revoke"
    )
    return {"revoked": revoked}


@router.put("/v1/admin/users/{user_id}/status", responses=problems(*ADMIN, e.UserNotFoundError))
async def set_user_status(
    user_id: uuid.UUID, body: UserStatusBody, admin: AdminUser, deps: HandlerDeps
) -> dict[str, Any]:
    changed = await account_handlers.set_user_status(
        deps, user_id, disabled=body.status == "disabled"
    )
    return {
        "id": str(changed.id),
        "status": changed.status,
        "sessions_revoked": changed.sessions_revoked,
    }
