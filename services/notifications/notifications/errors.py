"""The notifications service's error codes (subclasses of ``common.errors``).

webhooks  403 webhook_signature_invalid   (missing/forged signature, or not the public URL)
          400 validation_failed           (a signed request without the fields Twilio sends)
admin     400 validation_failed           404 not_found
any       503 dependency_unavailable      (Postgres cannot answer)
"""

from __future__ import annotations

from common.errors import PermissionDenied


class WebhookSignatureInvalidError(PermissionDenied):
    code = "webhook_signature_invalid"
    title = "Webhook signature invalid"
