"""The responses a money-moving use case answers, rendered once to bytes.

A response is rendered here (not by FastAPI) so the exact bytes can be stored on the
idempotency key and replayed byte for byte, stored 4xx answers included.
"""

from __future__ import annotations

import json
from typing import Any

from common.errors import AppError
from common.problem import PROBLEM_MEDIA_TYPE, problem_body

from payments.idempotency_keys import StoredResponse

JSON_MEDIA_TYPE = "application/json"


def json_outcome(status: int, body: dict[str, Any]) -> StoredResponse:
    return StoredResponse(
        status=status,
        body=json.dumps(body, separators=(",", ":"), default=str).encode(),
        content_type=JSON_MEDIA_TYPE,
    )


def problem_outcome(error: AppError) -> StoredResponse:
    body = problem_body(
        status=error.status,
        code=error.instance_code,
        title=error.title,
        detail=error.detail,
        extras=error.problem_extras(),
    )
    return StoredResponse(
        status=error.status,
        body=json.dumps(body, separators=(",", ":"), default=str).encode(),
        content_type=PROBLEM_MEDIA_TYPE,
    )
