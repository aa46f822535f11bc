"""Messaging benchmark: raw aio-pika confirms vs the outbox relay; outbox -> consumer latency."""
