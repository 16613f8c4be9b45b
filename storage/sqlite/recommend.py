"""storage/recommend.py on SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import recommend
from storage.db import iso, parse_iso
from storage.recommend import WeeklySend
from storage.sqlite.db import SqliteDatabase

_COLUMNS = "id, user_id, week, status, papers, reason, created_at, updated_at"


@recommend.set_weekly.register(SqliteDatabase)
async def set_weekly(db: SqliteDatabase, user_id: str, on: bool, *, now: dt.datetime) -> bool:
    if on:
        return await db.execute("INSERT INTO recommend_weekly (user_id, created_at) VALUES (?, ?)"
                                " ON CONFLICT (user_id) DO NOTHING", (user_id, iso(now))) > 0
    return await db.execute("DELETE FROM recommend_weekly WHERE user_id = ?", (user_id,)) > 0


@recommend.is_weekly.register(SqliteDatabase)
async def is_weekly(db: SqliteDatabase, user_id: str) -> bool:
    return await db.fetchone("SELECT 1 FROM recommend_weekly WHERE user_id = ?", (user_id,)) is not None


@recommend.weekly_due.register(SqliteDatabase)
async def weekly_due(db: SqliteDatabase, prefix: str, week: str, limit: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT w.user_id FROM recommend_weekly w WHERE substr(w.user_id, 1, ?) = ? AND NOT EXISTS"
        " (SELECT 1 FROM recommend_sends s WHERE s.user_id = w.user_id AND s.week = ?) ORDER BY w.user_id LIMIT ?",
        (len(prefix), prefix, week, limit))
    return [str(r[0]) for r in rows]


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
