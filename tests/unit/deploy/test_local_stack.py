"""``make run``'s stack: the fake Stripe delivers its webhooks to the gateway, as Stripe would."""

from __future__ import annotations

from deploy.local.environment import LOCAL_PORTS, payments_overrides
from deploy.local.supervisor import stack_children
from tests.fakes.stripe.config import StripeFakeConfig


def test_the_fake_stripe_delivers_to_the_gateways_webhook_route() -> None:
    [fake] = stack_children(LOCAL_PORTS, {"ENV": "local"}, names=("fake-stripe",))
    url = fake.argv[fake.argv.index("--webhook-url") + 1]
    assert url == f"http://127.0.0.1:{LOCAL_PORTS['gateway']}/v1/webhooks/stripe"
    # signed with the fake's default secret: the one payments verifies locally
    secrets = payments_overrides(LOCAL_PORTS)["STRIPE_WEBHOOK_SECRETS"]
    assert StripeFakeConfig().webhook_secret in secrets
