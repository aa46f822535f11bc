"""``python -m tests.fakes.stripe --port 8011``: the fake Stripe as a process (``make run``)."""

from __future__ import annotations

import asyncio
import logging

from tests.fakes.core.server import base_parser, serve_forever
from tests.fakes.stripe.app import build_app
from tests.fakes.stripe.config import StripeFakeConfig


def main() -> None:
    defaults = StripeFakeConfig()
    parser = base_parser(
        "Fake Stripe (v1 transfers, PaymentIntents, customers, Connect, events) for local runs",
        8011,
    )
    parser.add_argument("--api-key", default=defaults.api_key)
    parser.add_argument("--webhook-secret", default=defaults.webhook_secret)
    parser.add_argument("--webhook-url", default=None, help="where events are POSTed")
    parser.add_argument("--currency", default=defaults.currency)
    parser.add_argument("--available", type=int, default=defaults.initial_available)
    args = parser.parse_args()
    if not args.api_key.startswith("sk_test_"):
        parser.error("--api-key must be a test key (sk_test_...)")
    if not args.webhook_secret.startswith("whsec_"):
        parser.error("--webhook-secret must start with whsec_")
    config = StripeFakeConfig(
        api_key=args.api_key,
        webhook_secret=args.webhook_secret,
        webhook_url=args.webhook_url,
        currency=args.currency,
        initial_available=args.available,
    )
    logging.basicConfig(level=logging.INFO, format="fake-stripe: %(message)s")
    asyncio.run(serve_forever(build_app(config), args.host, args.port, "fake Stripe"))


if __name__ == "__main__":
    main()
