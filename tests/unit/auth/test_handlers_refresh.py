"""Token refresh decisions taken before the database: the per-IP limit and a malformed token;
and a well-formed token while the database cannot answer is a 503, never a token error."""

from __future__ import annotations

import pytest
from auth import session_handlers
from auth.bootstrap import otp_limits
from auth.errors import RateLimitedError, RefreshTokenInvalidError
from auth.refresh_tokens import RefreshTokenCodec
from common.errors import DependencyUnavailable

from tests.unit.auth.ports import FakeOtpStore, deps_with, unit_settings


def _store(**kw: object) -> FakeOtpStore:
    return FakeOtpStore(otp_limits(unit_settings()), **kw)  # type: ignore[arg-type]


async def test_the_per_ip_limit_answers_429_before_the_token_is_read() -> None:
    otp = _store(ip_wait=7.5)
    async with deps_with(otp=otp) as deps:
        with pytest.raises(RateLimitedError) as raised:
            await session_handlers.refresh(deps, refresh_token="garbage", client_ip="ip")
    assert raised.value.retry_after == 7.5
    assert otp.calls == ["ip_limit:refresh"]


@pytest.mark.parametrize("token", ["", "0", "not a token", "x" * 300])
async def test_a_malformed_token_is_401_without_the_database(token: str) -> None:
    async with deps_with() as deps:  # the database is unreachable: it is never asked
        with pytest.raises(RefreshTokenInvalidError):
            await session_handlers.refresh(deps, refresh_token=token, client_ip="ip")


async def test_a_well_formed_token_with_the_database_down_is_503() -> None:
    async with deps_with() as deps:
        with pytest.raises(DependencyUnavailable):
            await session_handlers.refresh(
                deps, refresh_token=RefreshTokenCodec.new_token(), client_ip="ip"
            )
