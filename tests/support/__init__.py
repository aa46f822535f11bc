"""Test-only infrastructure: per-run isolation on the real Postgres, RabbitMQ and Redis."""
