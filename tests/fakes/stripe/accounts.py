"""Connected accounts (Connect Express), account links and onboarding.

- ``POST /v1/accounts`` type (``express``/``custom``/``standard``), country, email,
  business_type, ``capabilities[transfers][requested]``, metadata [accounts.create]: a new
  account that can neither be paid out nor receive transfers until it is onboarded
  (``payouts_enabled: false``, ``capabilities.transfers: "inactive"``, requirements due).
- ``GET /v1/accounts/{id}`` [accounts.retrieve].
- ``POST /v1/account_links`` account, refresh_url, return_url, type
  (``account_onboarding``/``account_update``) [account_links.create]: a single-use onboarding
  URL on this fake, valid for 300 s of fake clock.
- Onboarding finishes when that URL is visited (``GET /connect/onboarding/{token}``: redirects
  to ``return_url``, or to ``refresh_url`` once expired or used) or through
  ``POST /__admin/accounts/{id}/update`` with any of ``payouts_enabled``, ``charges_enabled``,
  ``details_submitted``, ``transfers`` (capability status) and ``currently_due``. Each change
  emits ``account.updated`` (with ``account`` set and ``data.previous_attributes``, as Connect
  events are), listed with the account's ``Stripe-Account`` header.
- ``POST /__admin/accounts`` ``{"id"?, "ready": true}`` seeds an account directly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from tests.fakes.core.provider import Call
from tests.fakes.core.runtime import FakeClock
from tests.fakes.stripe import params as p
from tests.fakes.stripe.errors import StripeApiError, invalid, missing, no_such, no_such_param
from tests.fakes.stripe.events import EventsFake

LINK_TTL_SECONDS = 300
ACCOUNT_TYPES = ("express", "custom", "standard")
LINK_TYPES = ("account_onboarding", "account_update")
ONBOARDING_DUE = ["external_account", "individual.dob.day", "tos_acceptance.date"]
UPDATABLE = ("payouts_enabled", "charges_enabled", "details_submitted")


@dataclass
class OnboardingLink:
    account: str
    refresh_url: str
    return_url: str
    expires_at: int
    used: bool = False


class AccountsFake:
    def __init__(self, *, events: EventsFake, clock: FakeClock) -> None:
        self.events = events
        self.clock = clock
        self.accounts: dict[str, dict[str, Any]] = {}
        self.links: dict[str, OnboardingLink] = {}

    def reset(self) -> None:
        self.accounts.clear()
        self.links.clear()

    def _new_account(self, account_id: str, params: dict[str, Any]) -> dict[str, Any]:
        requested = {
            name
            for name, spec in (params.get("capabilities") or {}).items()
            if isinstance(spec, dict) and spec.get("requested") == "true"
        }
        return {
            "id": account_id,
            "object": "account",
            "type": params.get("type", "express"),
            "business_type": params.get("business_type"),
            "capabilities": {name: "inactive" for name in sorted(requested)},
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "country": str(params.get("country") or "US").upper(),
            "created": int(self.clock.now()),
            "default_currency": "usd",
            "email": params.get("email"),
            "metadata": p.metadata(params),
            "requirements": {
                "currently_due": list(ONBOARDING_DUE),
                "eventually_due": list(ONBOARDING_DUE),
                "past_due": [],
                "disabled_reason": "requirements.past_due",
            },
        }

    def create(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        kind = params.get("type")
        if kind is None and not params.get("controller"):
            raise missing("type")
        if kind is not None and kind not in ACCOUNT_TYPES:
            raise invalid(f"Invalid type: must be one of {', '.join(ACCOUNT_TYPES)}", param="type")
        country = params.get("country")
        if country is not None and (not isinstance(country, str) or len(country) != 2):
            raise invalid(f"Invalid country: {country}", param="country")
        capabilities = params.get("capabilities")
        if kind == "express" and not capabilities:
            raise invalid(
                "Express accounts must request the `transfers` or `card_payments` capability.",
                param="capabilities",
            )
        account = self._new_account(p.new_id("acct"), params)
        self.accounts[account["id"]] = account
        return account

    def seed(self, account_id: str | None, *, ready: bool) -> dict[str, Any]:
        params = {"type": "express", "capabilities": {"transfers": {"requested": "true"}}}
        account = self._new_account(account_id or p.new_id("acct"), params)
        self.accounts[account["id"]] = account
        if ready:
            self.complete_onboarding(account["id"], emit=False)
        return account

    def retrieve(self, account_id: str) -> dict[str, Any]:
        account = self.accounts.get(account_id)
        if account is None:
            raise no_such("account", account_id)
        return account

    def create_link(self, call: Call, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("account", "type"):
            if not params.get(name):
                raise missing(name)
        if params["type"] not in LINK_TYPES:
            raise invalid(f"Invalid type: must be one of {', '.join(LINK_TYPES)}", param="type")
        account_id = str(params["account"])
        if account_id not in self.accounts:
            raise no_such_param("account", account_id, param="account")
        for name in ("refresh_url", "return_url"):
            url = params.get(name)
            if not url:
                raise missing(name)
            if not str(url).startswith(("http://", "https://")):
                raise invalid(f"Not a valid URL: {name}", param=name, code="url_invalid")
        token = secrets.token_urlsafe(18)
        created = int(self.clock.now())
        self.links[token] = OnboardingLink(
            account=account_id,
            refresh_url=str(params["refresh_url"]),
            return_url=str(params["return_url"]),
            expires_at=created + LINK_TTL_SECONDS,
        )
        origin = f"{call.request.scheme}://{call.request.host}"
        return {
            "object": "account_link",
            "created": created,
            "expires_at": created + LINK_TTL_SECONDS,
            "url": f"{origin}/connect/onboarding/{token}",
        }

    def visit_link(self, token: str) -> str:
        """Where the browser goes next: ``return_url`` once onboarded, else ``refresh_url``."""
        link = self.links.get(token)
        if link is None:
            raise no_such("account link", token)
        if link.used or self.clock.now() >= link.expires_at:
            return link.refresh_url
        link.used = True
        self.complete_onboarding(link.account)
        return link.return_url

    def complete_onboarding(self, account_id: str, *, emit: bool = True) -> dict[str, Any]:
        account = self.retrieve(account_id)
        changes: dict[str, Any] = {
            "details_submitted": True,
            "payouts_enabled": True,
            "charges_enabled": "card_payments" in account["capabilities"],
            "currently_due": [],
        }
        changes.update({name: "active" for name in account["capabilities"]})
        return self.update(account_id, changes, emit=emit)

    def update(
        self, account_id: str, changes: dict[str, Any], *, emit: bool = True
    ) -> dict[str, Any]:
        """Apply ``changes`` (flags, capabilities, ``currently_due``); emit ``account.updated``."""
        account = self.retrieve(account_id)
        previous: dict[str, Any] = {}
        for name in UPDATABLE:
            if name in changes and account[name] != bool(changes[name]):
                previous[name] = account[name]
                account[name] = bool(changes[name])
        for name, status in changes.items():
            if name in account["capabilities"] and account["capabilities"][name] != status:
                if status not in ("active", "inactive", "pending"):
                    raise StripeApiError(400, f"Invalid capability status: {status}")
                previous.setdefault("capabilities", {})[name] = account["capabilities"][name]
                account["capabilities"][name] = status
        if "currently_due" in changes:
            due = [str(item) for item in changes["currently_due"]]
            requirements = account["requirements"]
            if requirements["currently_due"] != due:
                previous["requirements"] = dict(requirements)
                requirements["currently_due"] = due
                requirements["eventually_due"] = due
                requirements["disabled_reason"] = "requirements.past_due" if due else None
        if emit and previous:
            self.events.emit(
                "account.updated",
                account,
                request_id=None,
                idempotency_key=None,
                account=account_id,
                previous_attributes=previous,
            )
        return account

    def check_destination(self, destination: str) -> None:
        """A transfer needs a known account whose ``transfers`` capability is active."""
        account = self.accounts.get(destination)
        if account is None:
            raise StripeApiError(
                400, f"No such destination: '{destination}'", param="destination", stored=False
            )
        if account["capabilities"].get("transfers") != "active":
            raise StripeApiError(
                400,
                "Your destination account needs to have at least one of the following"
                " capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
