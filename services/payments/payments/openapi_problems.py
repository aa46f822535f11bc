"""OpenAPI documentation of the problem+json answers an operation can give."""

from __future__ import annotations

from typing import Any

from common.problem import PROBLEM_MEDIA_TYPE
from pydantic import BaseModel


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None


_DESCRIPTIONS = {
    400: "Invalid input (validation_failed, idempotency_key_required, idempotency_key_invalid)",
    401: "No valid access token",
    403: "The token's role may not do this",
    404: "A referenced merchant, driver or switch does not exist",
    409: "insufficient_funds, idempotency_key_reused, idempotency_key_in_use, merchant_inactive",
    422: "payment_method_rejected (Stripe refused the payment method)",
    503: "money_movement_disabled or dependency_unavailable (retry later)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }
