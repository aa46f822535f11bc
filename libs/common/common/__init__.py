"""Infrastructure shared by Nerava services.

Holds no business rule: settings base, logging, problem+json errors, request ids, health,
database and Redis factories, telemetry, metrics, messaging.
"""
