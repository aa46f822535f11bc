"""HTTP routes of the sessions service: parse -> call a use case -> respond. No SQL, no commit.

Every route needs a bearer token. Roles: drivers own sessions; a merchant's owner (role
``merchant``, ``owner_user_id = sub``) reads its arrivals and redeems codes; admins reach
everything under ``/v1/admin`` (``/v1/admin/sessions/…`` through the gateway).
"""

from __future__ import annotations

from fastapi import APIRouter

from sessions.api import admin, chargers, exclusive_sessions, merchants


def routers() -> list[APIRouter]:
    return [chargers.router, exclusive_sessions.router, merchants.router, admin.router]
