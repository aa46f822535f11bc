"""Messaging backbone over RabbitMQ (docs/architecture.md §3): no business words in here.

- ``envelope``: the envelope every message carries.
- ``contracts``: how a service declares the versioned messages it publishes.
- ``topology``: exchanges, shared retry tiers, work queues and DLQs (idempotent bootstrap).
- ``tables`` / ``schema_v1``: outbox, inbox and failed_messages in the service's own schema.
- ``outbox``: a handler stages messages in its own transaction; ``relay`` publishes them.
- ``lifecycle``: ``open_messaging(...)`` inside a service's FastAPI lifespan.

A service publishing from a handler::

    async with sessions.begin() as session:
        ...                                            # state change
        await outbox.add(session, UserRegisteredV1(user_id=user.id))
"""
