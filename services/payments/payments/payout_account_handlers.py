"""Drivers' payout accounts: a Stripe Express account per driver and its onboarding link.

``POST /v1/payouts/account`` creates the driver's one connected account (key
``connect_account:<driver_id>``: a retry, or two concurrent requests, get the same account) and
a fresh onboarding link. Payouts stay refused (409 ``payout_account_not_ready``) until Stripe's
``account.updated`` says the account can receive them
(:func:`payments.payout_webhook_handlers.on_account_updated`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from payments import payout_store
from payments import stripe_requests as req
from payments.deps import PaymentsDeps
from payments.errors import PayoutAccountRejectedError, StripeUnavailableError
from payments.stripe_errors import StripeDefinitiveError, StripeTransientError


@dataclass(frozen=True)
class OnboardingView:
    stripe_account_id: str
    payouts_enabled: bool
    onboarding_url: str
    expires_at: int


async def start_onboarding(deps: PaymentsDeps, driver_id: uuid.UUID) -> OnboardingView:
    settings = deps.settings
    try:
        async with deps.uow() as tx:
            account = await payout_store.account_of(tx, driver_id)
        if account is None:
            created = await deps.stripe.create_connected_account(
                req.connected_account_request(
                    str(driver_id), country=settings.stripe_connect_country
                )
            )
            async with deps.uow() as tx:
                await payout_store.store_account(tx, driver_id, created.id)
                account = await payout_store.account_of(tx, driver_id)
            assert account is not None
        link = await deps.stripe.create_account_link(
            req.account_link_request(
                account.stripe_account_id,
                link_id=uuid.uuid4().hex,
                refresh_url=settings.stripe_connect_refresh_url,
                return_url=settings.stripe_connect_return_url,
            )
        )
    except StripeDefinitiveError as refused:
        raise PayoutAccountRejectedError(refused.error_code) from refused
    except StripeTransientError as unanswered:
        raise StripeUnavailableError() from unanswered
    return OnboardingView(
        stripe_account_id=account.stripe_account_id,
        payouts_enabled=account.payouts_enabled,
        onboarding_url=link.url,
        expires_at=link.expires_at,
    )
