"""storage/recommend.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import recommend
from storage.postgres.db import PostgresDatabase
from storage.recommend import WeeklyMember, WeeklySend

_COLUMNS = "id, user_id, week, status, papers, reason, created_at, updated_at"


@recommend.set_weekly.register(PostgresDatabase)
async def set_weekly(db: PostgresDatabase, user_id: str, on: bool, *, now: dt.datetime,
                     guild_id: str | None = None) -> bool:
    if not on:
        return await db.execute("DELETE FROM recommend_weekly WHERE user_id = $1", (user_id,)) > 0
    async with db.atomic() as tx:
        if await tx.execute("INSERT INTO recommend_weekly (user_id, created_at, guild_id) VALUES ($1, $2, $3)"
                            " ON CONFLICT (user_id) DO NOTHING", (user_id, now, guild_id)) > 0:
            return True
        await tx.execute("UPDATE recommend_weekly SET guild_id = $2, next_at = NULL"
                         " WHERE user_id = $1 AND guild_id IS DISTINCT FROM $2", (user_id, guild_id))
        return False


@recommend.is_weekly.register(PostgresDatabase)
async def is_weekly(db: PostgresDatabase, user_id: str) -> bool:
    return await db.fetchone("SELECT 1 FROM recommend_weekly WHERE user_id = $1", (user_id,)) is not None


@recommend.weekly_due.register(PostgresDatabase)
async def weekly_due(db: PostgresDatabase, prefix: str, now: dt.datetime, limit: int) -> list[WeeklyMember]:
    rows = await db.fetchall(
        "SELECT w.user_id, w.guild_id, g.timezone, g.post_time FROM recommend_weekly w"
        " LEFT JOIN guild_schedules g ON g.guild_id = w.guild_id"
        " WHERE starts_with(w.user_id, $1) AND (w.next_at IS NULL OR w.next_at <= $2) ORDER BY w.user_id LIMIT $3",
        (prefix, now, limit))
    return [WeeklyMember(str(r[0]), r[1], r[2], dt.time.fromisoformat(r[3]) if r[3] else None) for r in rows]


@recommend.set_next.register(PostgresDatabase)
async def set_next(db: PostgresDatabase, user_id: str, next_at: dt.datetime) -> None:
    await db.execute("UPDATE recommend_weekly SET next_at = $2 WHERE user_id = $1", (user_id, next_at))


@recommend.claim_week.register(PostgresDatabase)
async def claim_week(db: PostgresDatabase, user_id: str, week: str, *, now: dt.datetime) -> int | None:
    row = await db.fetchone(
        "INSERT INTO recommend_sends (user_id, week, status, created_at, updated_at)"
        " VALUES ($1, $2, 'sending', $3, $3) ON CONFLICT (user_id, week) DO NOTHING RETURNING id",
        (user_id, week, now))
    return int(row[0]) if row else None


@recommend.finish_week.register(PostgresDatabase)
async def finish_week(db: PostgresDatabase, row_id: int, status: str, *, now: dt.datetime, papers: int = 0,
                      reason: str | None = None, expect: Sequence[str] = ("sending",)) -> bool:
    return await db.execute(
        "UPDATE recommend_sends SET status = $1, papers = $2, reason = $3, updated_at = $4"
        " WHERE id = $5 AND status = ANY($6::text[])", (status, papers, reason, now, row_id, list(expect))) > 0


@recommend.weekly_sends.register(PostgresDatabase)
async def weekly_sends(db: PostgresDatabase, *, status: str | None = None,
                       user_id: str | None = None) -> list[WeeklySend]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM recommend_sends WHERE ($1::text IS NULL OR status = $1)"  # noqa: S608 - fixed text
        " AND ($2::text IS NULL OR user_id = $2) ORDER BY id", (status, user_id))
    return [WeeklySend(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), r[5], r[6], r[7]) for r in rows]
