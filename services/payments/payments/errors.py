"""The payments service's error codes (one class per stable ``code``).

request        400 validation_failed               400 idempotency_key_required
               400 idempotency_key_invalid
idempotency    409 idempotency_key_reused (same key, different payload)
               409 idempotency_key_in_use (same key in flight; Retry-After)
ledger         409 insufficient_funds (stored on the key and replayed, as Stripe does)
references     404 merchant_not_found                409 merchant_inactive
               404 driver_not_found                  404 kill_switch_not_found
kill switches  503 money_movement_disabled (a switch is off, or cannot be read: fail closed;
               the idempotency key is not consumed)
billing        404 billing_charge_not_found
               422 payment_method_rejected (Stripe refused to attach or use it)
               503 stripe_unavailable (Stripe did not answer; nothing was stored: retry)
payouts        409 payout_account_not_ready (no connected account, or payouts not enabled)
               409 payout_in_progress (the driver has an open payout)
               422 payout_amount_too_small (the Nova is worth less than one minor unit)
               404 payout_not_found
               422 payout_account_rejected (Stripe refused to create the connected account)
               409 payout_reconcile_in_progress (another reconciler holds the payout's lease)
any            503 dependency_unavailable (Postgres cannot answer: common.uow)
"""

from __future__ import annotations

from common.errors import Conflict, InvalidInput, NotFound, Unavailable, Unprocessable


class IdempotencyKeyRequiredError(InvalidInput):
    code = "idempotency_key_required"
    title = "Idempotency-Key header required"


class IdempotencyKeyInvalidError(InvalidInput):
    code = "idempotency_key_invalid"
    title = "Invalid Idempotency-Key header"


class IdempotencyKeyReusedError(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key reused with a different request"


class IdempotencyKeyInUseError(Conflict):
    code = "idempotency_key_in_use"
    title = "A request with this idempotency key is in progress"


class InsufficientFundsError(Conflict):
    code = "insufficient_funds"
    title = "Insufficient funds"


class MerchantNotFoundError(NotFound):
    code = "merchant_not_found"
    title = "Merchant not found"


class MerchantInactiveError(Conflict):
    code = "merchant_inactive"
    title = "Merchant is not active"


class DriverNotFoundError(NotFound):
    code = "driver_not_found"
    title = "Driver not found"


class KillSwitchNotFoundError(NotFound):
    code = "kill_switch_not_found"
    title = "Unknown kill switch"


class MoneyMovementDisabledError(Unavailable):
    code = "money_movement_disabled"
    title = "Money movement is disabled"


class PaymentMethodRejectedError(Unprocessable):
    code = "payment_method_rejected"
    title = "Stripe refused the payment method"


class StripeUnavailableError(Unavailable):
    code = "stripe_unavailable"
    title = "Stripe is unavailable; retry later"


class ChargeNotFoundError(NotFound):
    code = "billing_charge_not_found"
    title = "No billing charge with this id"


class PayoutAccountNotReadyError(Conflict):
    code = "payout_account_not_ready"
    title = "The payout account cannot receive payouts yet"


class PayoutInProgressError(Conflict):
    code = "payout_in_progress"
    title = "A payout of this driver is still open"


class PayoutAmountTooSmallError(Unprocessable):
    code = "payout_amount_too_small"
    title = "The amount is worth less than the smallest payout"


class PayoutNotFoundError(NotFound):
    code = "payout_not_found"
    title = "No payout with this id"


class PayoutReconcileInProgressError(Conflict):
    code = "payout_reconcile_in_progress"
    title = "Another reconciler is working on this payout"


class PayoutAccountRejectedError(Unprocessable):
    code = "payout_account_rejected"
    title = "Stripe refused to create the payout account"
