"""storage/recommend.py on SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import recommend
from storage.db import iso, parse_iso
from storage.recommend import WeeklyMember, WeeklySend
from storage.sqlite.db import SqliteDatabase

_COLUMNS = "id, user_id, week, status, papers, reason, created_at, updated_at"


@recommend.set_weekly.register(SqliteDatabase)
async def set_weekly(db: SqliteDatabase, user_id: str, on: bool, *, now: dt.datetime,
                     guild_id: str | None = None) -> bool:
    if not on:
        return await db.execute("DELETE FROM recommend_weekly WHERE user_id = ?", (user_id,)) > 0
    async with db.transaction() as conn:
        async with conn.execute("INSERT INTO recommend_weekly (user_id, created_at, guild_id) VALUES (?, ?, ?)"
                                " ON CONFLICT (user_id) DO NOTHING", (user_id, iso(now), guild_id)) as cursor:
            if cursor.rowcount > 0:
                return True
        await conn.execute("UPDATE recommend_weekly SET guild_id = ?, next_at = NULL"
                           " WHERE user_id = ? AND guild_id IS NOT ?", (guild_id, user_id, guild_id))
        return False


@recommend.is_weekly.register(SqliteDatabase)
async def is_weekly(db: SqliteDatabase, user_id: str) -> bool:
    return await db.fetchone("SELECT 1 FROM recommend_weekly WHERE user_id = ?", (user_id,)) is not None


@recommend.weekly_due.register(SqliteDatabase)
async def weekly_due(db: SqliteDatabase, prefix: str, now: dt.datetime, limit: int) -> list[WeeklyMember]:
    rows = await db.fetchall(
        "SELECT w.user_id, w.guild_id, g.timezone, g.post_time FROM recommend_weekly w"
        " LEFT JOIN guild_schedules g ON g.guild_id = w.guild_id"
        " WHERE substr(w.user_id, 1, ?) = ? AND (w.next_at IS NULL OR w.next_at <= ?) ORDER BY w.user_id LIMIT ?",
        (len(prefix), prefix, iso(now), limit))
    return [WeeklyMember(str(r[0]), r[1], r[2], dt.time.fromisoformat(r[3]) if r[3] else None) for r in rows]


@recommend.set_next.register(SqliteDatabase)
async def set_next(db: SqliteDatabase, user_id: str, next_at: dt.datetime) -> None:
    await db.execute("UPDATE recommend_weekly SET next_at = ? WHERE user_id = ?", (iso(next_at), user_id))


@recommend.claim_week.register(SqliteDatabase)
async def claim_week(db: SqliteDatabase, user_id: str, week: str, *, now: dt.datetime) -> int | None:
    async with db.transaction() as conn, conn.execute(
            "INSERT INTO recommend_sends (user_id, week, status, created_at, updated_at)"
            " VALUES (?, ?, 'sending', ?, ?) ON CONFLICT (user_id, week) DO NOTHING",
            (user_id, week, iso(now), iso(now))) as cursor:
        return cursor.lastrowid if cursor.rowcount > 0 else None


@recommend.finish_week.register(SqliteDatabase)
async def finish_week(db: SqliteDatabase, row_id: int, status: str, *, now: dt.datetime, papers: int = 0,
                      reason: str | None = None, expect: Sequence[str] = ("sending",)) -> bool:
    marks = ", ".join("?" for _ in expect)
    return await db.execute(
        f"UPDATE recommend_sends SET status = ?, papers = ?, reason = ?, updated_at = ?"  # noqa: S608 - placeholders
        f" WHERE id = ? AND status IN ({marks})",
        (status, papers, reason, iso(now), row_id, *expect)) > 0


@recommend.weekly_sends.register(SqliteDatabase)
async def weekly_sends(db: SqliteDatabase, *, status: str | None = None,
                       user_id: str | None = None) -> list[WeeklySend]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM recommend_sends WHERE (? IS NULL OR status = ?)"  # noqa: S608 - fixed text
        " AND (? IS NULL OR user_id = ?) ORDER BY id", (status, status, user_id, user_id))
    return [WeeklySend(int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), r[5],
                       parse_iso(str(r[6])), parse_iso(str(r[7]))) for r in rows]
