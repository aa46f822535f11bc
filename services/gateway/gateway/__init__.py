"""The one public entrypoint: routing, edge auth, rate limits, webhooks passthrough."""
