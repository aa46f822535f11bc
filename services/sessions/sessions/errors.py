"""The sessions service's error taxonomy: one class per stable ``code``.

input      400 validation_failed (request schema)   400 invalid_cursor
           422 invalid_coordinates
           422 invalid_phone_number                 422 billing_amount_out_of_range
           422 currency_not_supported               422 reward_out_of_range
           422 merchant_not_near_charger            422 invalid_import   413 import_too_large
lookup     404 charger_not_found   404 merchant_not_found   404 session_not_found
           404 offer_code_not_found  (also for what exists but is not the caller's)
state      409 session_state_conflict (+current)    409 offer_code_already_redeemed
access     401 token_* (common)  403 insufficient_scope (a role that can never use the route)
any        503 dependency_unavailable (Postgres cannot answer)
"""

from __future__ import annotations

from common.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
)


class InvalidCoordinatesError(Unprocessable):
    code = "invalid_coordinates"
    title = "Invalid coordinates"


class InvalidPhoneNumberError(Unprocessable):
    code = "invalid_phone_number"
    title = "Invalid phone number"


class BillingAmountOutOfRangeError(Unprocessable):
    code = "billing_amount_out_of_range"
    title = "Billing amount out of range"


class CurrencyNotSupportedError(Unprocessable):
    code = "currency_not_supported"
    title = "Currency not supported"


class RewardOutOfRangeError(Unprocessable):
    code = "reward_out_of_range"
    title = "Reward out of range"


class MerchantNotNearChargerError(Unprocessable):
    code = "merchant_not_near_charger"
    title = "Merchant not within walking distance of the charger"


class InvalidImportError(Unprocessable):
    code = "invalid_import"
    title = "Invalid charger import"


class ImportTooLargeError(PayloadTooLarge):
    code = "import_too_large"
    title = "Charger import too large"


class ChargerNotFoundError(NotFound):
    code = "charger_not_found"
    title = "Charger not found"


class MerchantNotFoundError(NotFound):
    code = "merchant_not_found"
    title = "Merchant not found"


class SessionNotFoundError(NotFound):
    code = "session_not_found"
    title = "Exclusive session not found"


class OfferCodeNotFoundError(NotFound):
    code = "offer_code_not_found"
    title = "Offer code not found"


class SessionStateConflictError(Conflict):
    code = "session_state_conflict"
    title = "Session state conflict"


class OfferCodeAlreadyRedeemedError(Conflict):
    code = "offer_code_already_redeemed"
    title = "Offer code already redeemed"


class InvalidCursorError(InvalidInput):
    code = "invalid_cursor"
    title = "Invalid pagination cursor"
