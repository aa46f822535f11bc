"""Nova ledger, redemptions, payouts, merchant charges, Stripe webhooks."""
