"""``python -m tests.fakes.posthog --port 8012``: the fake PostHog as a process."""

from __future__ import annotations

import asyncio
import logging

from tests.fakes.core.server import base_parser, serve_forever
from tests.fakes.posthog.app import build_app
from tests.fakes.posthog.config import PostHogFakeConfig


def main() -> None:
    parser = base_parser("Fake PostHog (the /batch/ capture endpoint) for local runs", 8012)
    parser.add_argument("--api-key", default=PostHogFakeConfig().api_key)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="fake-posthog: %(message)s")
    app = build_app(PostHogFakeConfig(api_key=args.api_key))
    asyncio.run(serve_forever(app, args.host, args.port, "fake PostHog"))


if __name__ == "__main__":
    main()
