"""HTTP of the notifications service: parse -> handler -> response. No SQL, no commit.

``webhooks``: Twilio's status callbacks and inbound SMS (public at the gateway, signed).
``admin``: ``/v1/admin/sms-deliveries`` for ops (``/v1/admin/notifications/...`` at the gateway).
"""

from fastapi import APIRouter

from notifications.api.admin import router as admin_router
from notifications.api.webhooks import router as webhooks_router

router = APIRouter()
router.include_router(webhooks_router)
router.include_router(admin_router)
