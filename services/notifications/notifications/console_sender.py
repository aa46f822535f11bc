"""``ConsoleSmsSender`` (``local``/``test`` only): logs a masked line instead of sending."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from notifications.phone_vault import mask
from notifications.sms_outcomes import OutgoingSms, SentSms

logger = logging.getLogger(__name__)


class ConsoleSmsSender:
    async def send(self, sms: OutgoingSms) -> SentSms:
        sid = "SM" + secrets.token_hex(16)
        logger.info("sms (console sender)", extra={"to": mask(sms.to), "message_sid": sid})
        return SentSms(sid=sid, status="accepted")

    async def find(self, *, to: str, mark: str, since: datetime) -> SentSms | None:
        return None

    async def close(self) -> None:
        return None
