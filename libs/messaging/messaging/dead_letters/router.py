"""``/v1/admin/dead-letters``: the ops API over a service's ``failed_messages`` (admin only).

Reached through the gateway as ``/v1/admin/<service>/dead-letters``. ``authorize`` is the FastAPI
dependency that admits admins (default: ``require_role("admin")`` from ``common``); whatever
it returns names the actor recorded on replays and notes.

    GET    /v1/admin/dead-letters                 list (filters, limit/offset)
    GET    /v1/admin/dead-letters/groups?by=...   counts, first/last seen per group
    GET    /v1/admin/dead-letters/{id}            one message: headers, body, notes
    POST   /v1/admin/dead-letters/replay          {ids} | {filter} | {group_by, group_key}
    POST   /v1/admin/dead-letters/{id}/replay
    POST   /v1/admin/dead-letters/archive         same selection
    POST   /v1/admin/dead-letters/restore         same selection
    POST   /v1/admin/dead-letters/{id}/notes      {"text": "..."}
"""

# No `from __future__ import annotations`: FastAPI must see the local Annotated aliases.

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from common.auth_dependencies import require_role
from common.errors import NotFound, Unavailable, Unprocessable
from common.openapi_errors import ADMIN, problems
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from messaging.dead_letters.replay import Replayer
from messaging.dead_letters.repository import DeadLetterRepository
from messaging.dead_letters.selection import Filter, GroupBy, Selection, Status

PREFIX = "/v1/admin/dead-letters"


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


def actor_of(principal: Any) -> str:
    for attr in ("user_id", "subject", "sub"):
        value = getattr(principal, attr, None)
        if value:
            return str(value)
    return str(principal) if principal else "unknown"


def _deps(request: Request) -> tuple[DeadLetterRepository, Replayer, int]:
    messaging = getattr(request.app.state, "messaging", None)
    dead_letters = getattr(messaging, "dead_letters", None)
    if dead_letters is None:
        raise Unavailable("Dead letters are not available.", code="dead_letters_unavailable")
    return dead_letters.repository, dead_letters.replayer, dead_letters.max_batch


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "queue": row.queue,
        "message_id": row.message_id,
        "message_type": row.message_type,
        "failure_kind": row.failure_kind,
        "exception_type": row.exception_type,
        "exception_message": row.exception_message,
        "fingerprint": row.fingerprint,
        "first_failed_at": _iso(row.first_failed_at),
        "last_failed_at": _iso(row.last_failed_at),
        "attempts": row.attempts,
        "failure_count": row.failure_count,
        "status": row.status,
        "replay_count": row.replay_count,
    }


def detail(row: Any) -> dict[str, Any]:
    body: bytes = row.body
    try:
        text, encoding = body.decode(), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode(), "base64"
    return {
        **summary(row),
        "exchange": row.exchange,
        "routing_key": row.routing_key,
        "content_type": row.content_type,
        "headers": row.headers,
        "body": text,
        "body_encoding": encoding,
        "notes": row.notes,
        "last_replayed_at": _iso(row.last_replayed_at),
        "last_replayed_by": row.last_replayed_by,
    }


async def _resolve(repo: DeadLetterRepository, selection: Selection, max_batch: int) -> list[int]:
    ids = await repo.matching_ids(selection, limit=max_batch + 1)
    if len(ids) > max_batch:
        raise Unprocessable(
            f"The selection matches more than {max_batch} messages; narrow it down.",
            code="selection_too_large",
            limit=max_batch,
        )
    return ids


_NOT_FOUND = problems((404, "dead_letter_not_found"))
_TOO_LARGE = problems((422, "selection_too_large"))


def dead_letters_router(
    authorize: Callable[..., Any] | None = None,
) -> APIRouter:
    admin = authorize or require_role("admin")
    Admin = Annotated[Any, Depends(admin)]
    router = APIRouter(
        prefix=PREFIX,
        tags=["dead-letters"],
        responses=problems(*ADMIN, (503, "dead_letters_unavailable")),
    )

    def filters(
        status: Status | None = None,
        queue: str | None = None,
        message_type: str | None = None,
        exception_type: str | None = None,
        fingerprint: str | None = None,
        failure_kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Filter:
        return Filter(
            status=status,
            queue=queue,
            message_type=message_type,
            exception_type=exception_type,
            fingerprint=fingerprint,
            failure_kind=failure_kind,
            since=since,
            until=until,
        )

    @router.get("")
    async def list_dead_letters(
        request: Request,
        _: Admin,
        flt: Annotated[Filter, Depends(filters)],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        repo, _replayer, _max = _deps(request)
        total, rows = await repo.search(flt, limit=limit, offset=offset)
        return {
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": [summary(r) for r in rows],
        }

    @router.get("/groups")
    async def group_dead_letters(
        request: Request,
        _: Admin,
        flt: Annotated[Filter, Depends(filters)],
        by: GroupBy = GroupBy.FINGERPRINT,
    ) -> dict[str, Any]:
        repo, _replayer, _max = _deps(request)
        rows = await repo.groups(by, flt)
        return {
            "by": by.value,
            "groups": [
                {
                    "key": r.key,
                    "count": r.count,
                    "first_seen": _iso(r.first_seen),
                    "last_seen": _iso(r.last_seen),
                    "queues": sorted(q for q in r.queues if q),
                    "exception_type": r.exception_type,
                    "sample_message": r.sample_message,
                }
                for r in rows
            ],
        }

    @router.get("/{failed_id}", responses=_NOT_FOUND)
    async def show_dead_letter(request: Request, _: Admin, failed_id: int) -> dict[str, Any]:
        repo, _replayer, _max = _deps(request)
        row = await repo.get(failed_id)
        if row is None:
            raise NotFound(f"No dead letter {failed_id}.", code="dead_letter_not_found")
        return detail(row)

    @router.post("/replay", responses=_TOO_LARGE)
    async def replay_dead_letters(
        request: Request, principal: Admin, selection: Selection
    ) -> dict[str, Any]:
        repo, replayer, max_batch = _deps(request)
        ids = await _resolve(repo, selection, max_batch)
        result = await replayer.replay(ids, actor=actor_of(principal))
        return result.as_dict()

    @router.post("/{failed_id}/replay", responses=_NOT_FOUND)
    async def replay_one(request: Request, principal: Admin, failed_id: int) -> dict[str, Any]:
        repo, replayer, _max = _deps(request)
        if await repo.get(failed_id) is None:
            raise NotFound(f"No dead letter {failed_id}.", code="dead_letter_not_found")
        result = await replayer.replay([failed_id], actor=actor_of(principal))
        return result.as_dict()

    async def _move(request: Request, selection: Selection, from_: Status, to: Status) -> Any:
        repo, _replayer, max_batch = _deps(request)
        ids = await _resolve(repo, selection, max_batch)
        changed = await repo.set_status(ids, from_=from_, to=to)
        return {
            "requested": len(ids),
            "changed": len(changed),
            "skipped": len(ids) - len(changed),
            "changed_ids": changed,
        }

    @router.post("/archive", responses=_TOO_LARGE)
    async def archive(request: Request, _: Admin, selection: Selection) -> dict[str, Any]:
        result: dict[str, Any] = await _move(request, selection, Status.UNRESOLVED, Status.ARCHIVED)
        return result

    @router.post("/restore", responses=_TOO_LARGE)
    async def restore(request: Request, _: Admin, selection: Selection) -> dict[str, Any]:
        result: dict[str, Any] = await _move(request, selection, Status.ARCHIVED, Status.UNRESOLVED)
        return result

    @router.post("/{failed_id}/notes", responses=_NOT_FOUND)
    async def add_note(
        request: Request, principal: Admin, failed_id: int, note: NoteIn
    ) -> dict[str, Any]:
        repo, _replayer, _max = _deps(request)
        entry = {
            "by": actor_of(principal),
            "at": datetime.now(UTC).isoformat(),
            "text": note.text,
        }
        if not await repo.add_note(failed_id, entry):
            raise NotFound(f"No dead letter {failed_id}.", code="dead_letter_not_found")
        row = await repo.get(failed_id)
        return detail(row)

    return router
