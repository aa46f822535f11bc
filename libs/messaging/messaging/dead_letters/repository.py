"""Queries over ``failed_messages``: list, group, show, select for replay, archive, notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from messaging.dead_letters.selection import Filter, GroupBy, Selection, Status

STUCK_REPLAY = timedelta(minutes=5)


class DeadLetterRepository:
    def __init__(self, engine: AsyncEngine, table: Table) -> None:
        self.engine = engine
        self.table = table

    def _summary_columns(self) -> list[Any]:
        t = self.table
        return [
            t.c.id,
            t.c.queue,
            t.c.message_id,
            t.c.message_type,
            t.c.failure_kind,
            t.c.exception_type,
            t.c.exception_message,
            t.c.fingerprint,
            t.c.first_failed_at,
            t.c.last_failed_at,
            t.c.attempts,
            t.c.failure_count,
            t.c.status,
            t.c.replay_count,
        ]

    async def search(
        self, flt: Filter, *, limit: int, offset: int
    ) -> tuple[int, Sequence[Row[Any]]]:
        t = self.table
        where = flt.clauses(t)
        async with self.engine.connect() as conn:
            total = await conn.scalar(select(func.count()).select_from(t).where(*where))
            rows = (
                await conn.execute(
                    select(*self._summary_columns())
                    .where(*where)
                    .order_by(t.c.last_failed_at.desc(), t.c.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
        return int(total or 0), rows

    async def groups(self, by: GroupBy, flt: Filter) -> Sequence[Row[Any]]:
        t = self.table
        key = t.c[by.value]
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(
                        key.label("key"),
                        func.count().label("count"),
                        func.min(t.c.first_failed_at).label("first_seen"),
                        func.max(t.c.last_failed_at).label("last_seen"),
                        func.array_agg(func.distinct(t.c.queue)).label("queues"),
                        func.min(t.c.exception_type).label("exception_type"),
                        func.min(t.c.exception_message).label("sample_message"),
                    )
                    .where(*flt.clauses(t))
                    .group_by(key)
                    .order_by(func.count().desc(), key)
                )
            ).all()

    async def get(self, failed_id: int) -> Row[Any] | None:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(select(self.table).where(self.table.c.id == failed_id))
            ).first()

    async def matching_ids(self, selection: Selection, *, limit: int) -> list[int]:
        t = self.table
        if selection.ids is not None:
            return sorted(set(selection.ids))
        flt = selection.as_filter()
        assert flt is not None
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(t.c.id).where(*flt.clauses(t)).order_by(t.c.id).limit(limit)
            )
            return [r.id for r in rows]

    async def claim_for_replay(self, ids: Sequence[int]) -> Sequence[Row[Any]]:
        """Atomically moves unresolved rows (or replays stuck for 5 min) to ``replaying``."""
        t = self.table
        claimable = or_(
            t.c.status == Status.UNRESOLVED.value,
            and_(
                t.c.status == Status.REPLAYING.value,
                t.c.updated_at < func.now() - STUCK_REPLAY,
            ),
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.id.in_(ids), claimable)
                .values(status=Status.REPLAYING.value, updated_at=func.now())
                .returning(*t.c)
            )
            return list(result.all())

    async def mark_replayed(self, failed_id: int, actor: str) -> None:
        t = self.table
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t)
                .where(t.c.id == failed_id, t.c.status == Status.REPLAYING.value)
                .values(
                    status=Status.RESOLVED.value,
                    replay_count=t.c.replay_count + 1,
                    last_replayed_at=func.now(),
                    last_replayed_by=actor,
                    updated_at=func.now(),
                )
            )

    async def release(self, failed_id: int) -> None:
        t = self.table
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t)
                .where(t.c.id == failed_id, t.c.status == Status.REPLAYING.value)
                .values(status=Status.UNRESOLVED.value, updated_at=func.now())
            )

    async def set_status(self, ids: Sequence[int], *, from_: Status, to: Status) -> list[int]:
        t = self.table
        async with self.engine.begin() as conn:
            rows = await conn.execute(
                update(t)
                .where(t.c.id.in_(ids), t.c.status == from_.value)
                .values(status=to.value, updated_at=func.now())
                .returning(t.c.id)
            )
            return sorted(r.id for r in rows)

    async def add_note(self, failed_id: int, note: dict[str, Any]) -> bool:
        t = self.table
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.id == failed_id)
                .values(
                    notes=t.c.notes.op("||")(bindparam("note", value=[note], type_=JSONB)),
                    updated_at=func.now(),
                )
            )
            return bool(result.rowcount)

    async def purge_settled(self, *, older_than: timedelta) -> int:
        """Deletes resolved and archived rows not touched for ``older_than``."""
        t = self.table
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(t).where(
                    t.c.status.in_([Status.RESOLVED.value, Status.ARCHIVED.value]),
                    t.c.updated_at < func.now() - older_than,
                )
            )
            return int(result.rowcount or 0)
