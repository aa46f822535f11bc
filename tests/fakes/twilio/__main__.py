"""``python -m tests.fakes.twilio --port 8010``: the fake Twilio as a process (``make run``)."""

from __future__ import annotations

import asyncio
import logging

from tests.fakes.core.server import base_parser, serve_forever
from tests.fakes.twilio.app import build_app
from tests.fakes.twilio.config import TwilioFakeConfig


def main() -> None:
    defaults = TwilioFakeConfig()
    parser = base_parser("Fake Twilio (Verify v2 + Messaging) for local runs and tests", 8010)
    parser.add_argument("--account-sid", default=defaults.account_sid)
    parser.add_argument("--auth-token", default=defaults.auth_token)
    parser.add_argument("--api-key-sid", default=defaults.api_key_sid)
    parser.add_argument("--api-key-secret", default=defaults.api_key_secret)
    parser.add_argument("--verify-service-sid", default=defaults.verify_service_sid)
    parser.add_argument("--messaging-service-sid", default=defaults.messaging_service_sid)
    parser.add_argument("--from-number", default=defaults.from_number)
    parser.add_argument("--status-callback-url", default=None)
    parser.add_argument("--inbound-webhook-url", default=None)
    args = parser.parse_args()
    config = TwilioFakeConfig(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        api_key_sid=args.api_key_sid,
        api_key_secret=args.api_key_secret,
        verify_service_sid=args.verify_service_sid,
        messaging_service_sid=args.messaging_service_sid,
        from_number=args.from_number,
        status_callback_url=args.status_callback_url,
        inbound_webhook_url=args.inbound_webhook_url,
    )
    logging.basicConfig(level=logging.INFO, format="fake-twilio: %(message)s")
    asyncio.run(serve_forever(build_app(config), args.host, args.port, "fake Twilio"))


if __name__ == "__main__":
    main()
