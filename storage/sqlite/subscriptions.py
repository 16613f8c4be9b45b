"""storage/subscriptions.py on SQLite."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from storage import subscriptions
from storage.db import iso, now_utc, parse_iso
from storage.sqlite.db import SqliteDatabase
from storage.subscriptions import PREF_COLUMNS, AddResult, PaperText, Subscription, UserPrefs


def _prefs(row: sqlite3.Row) -> UserPrefs:
    return UserPrefs(row["user_id"], bool(row["paused"]), row["delivery"], bool(row["fallback"]),
                     row["guild_id"], row["cap"])


@subscriptions.get_prefs.register(SqliteDatabase)
async def get_prefs(db: SqliteDatabase, user_id: str) -> UserPrefs:
    row = await db.fetchone("SELECT * FROM subscription_users WHERE user_id = ?", (user_id,))
    return _prefs(row) if row else UserPrefs(user_id)


@subscriptions.save_prefs.register(SqliteDatabase)
async def save_prefs(db: SqliteDatabase, user_id: str, *, now: dt.datetime | None = None, **values: Any) -> UserPrefs:
    unknown = set(values) - set(PREF_COLUMNS)
    if unknown:
        raise ValueError(f"not a preference: {sorted(unknown)}")
    stamp = iso(now or now_utc())
    params = [int(v) if isinstance(v, bool) else v for v in values.values()]
    sets = "".join(f", {name} = ?" for name in values)
    async with db.transaction() as conn:
        await _ensure_user(conn, user_id, stamp)
        await conn.execute(f"UPDATE subscription_users SET updated_at = ?{sets} WHERE user_id = ?",  # noqa: S608
                           [stamp, *params, user_id])
    return await get_prefs(db, user_id)


async def _ensure_user(conn: aiosqlite.Connection, user_id: str, stamp: str) -> None:
    await conn.execute("INSERT INTO subscription_users (user_id, created_at, updated_at) VALUES (?, ?, ?)"
                       " ON CONFLICT DO NOTHING", (user_id, stamp, stamp))


@subscriptions.list_users.register(SqliteDatabase)
async def list_users(db: SqliteDatabase) -> list[UserPrefs]:
    return [_prefs(r) for r in await db.fetchall("SELECT * FROM subscription_users ORDER BY user_id")]


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(row["id"], row["user_id"], row["topic"], row["query"], parse_iso(row["created_at"]))


@subscriptions.add_subscription.register(SqliteDatabase)
async def add_subscription(db: SqliteDatabase, user_id: str, topic: str, query: str, *, limit: int,
                           now: dt.datetime | None = None) -> AddResult:
    stamp = iso(now or now_utc())
    async with db.transaction() as conn:
        await _ensure_user(conn, user_id, stamp)
        async with conn.execute("SELECT * FROM subscriptions WHERE user_id = ? AND query = ?",
                                (user_id, query)) as cursor:
            existing = await cursor.fetchone()
        async with conn.execute("SELECT COUNT(*) FROM subscriptions WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        count = int(row[0]) if row else 0
        if existing is not None:
            return AddResult("duplicate", _subscription(existing), count)
        if count >= limit:
            return AddResult("limit", None, count)
        async with conn.execute("INSERT INTO subscriptions (user_id, topic, query, created_at) VALUES (?, ?, ?, ?)"
                                " RETURNING *", (user_id, topic, query, stamp)) as cursor:
            inserted = await cursor.fetchone()
    assert inserted is not None
    return AddResult("added", _subscription(inserted), count + 1)


@subscriptions.remove_subscription.register(SqliteDatabase)
async def remove_subscription(db: SqliteDatabase, user_id: str, query: str) -> bool:
    return await db.execute("DELETE FROM subscriptions WHERE user_id = ? AND query = ?", (user_id, query)) > 0


@subscriptions.list_subscriptions.register(SqliteDatabase)
async def list_subscriptions(db: SqliteDatabase, user_id: str | None = None) -> list[Subscription]:
    rows = await db.fetchall("SELECT * FROM subscriptions WHERE ? IS NULL OR user_id = ? ORDER BY user_id, id",
                             (user_id, user_id))
    return [_subscription(r) for r in rows]


@subscriptions.active_queries.register(SqliteDatabase)
async def active_queries(db: SqliteDatabase) -> list[str]:
    rows = await db.fetchall(
        "SELECT DISTINCT s.query FROM subscriptions AS s JOIN subscription_users AS u ON u.user_id = s.user_id"
        " WHERE u.paused = 0")
    return [r[0] for r in rows]


@subscriptions.active_subscribers.register(SqliteDatabase)
async def active_subscribers(db: SqliteDatabase, queries: Sequence[str]) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT s.user_id, s.query FROM json_each(?) AS q JOIN subscriptions AS s ON s.query = q.value"
        " JOIN subscription_users AS u ON u.user_id = s.user_id WHERE u.paused = 0 ORDER BY s.user_id, s.id",
        (json.dumps(list(queries)),))
    return [(r[0], r[1]) for r in rows]


@subscriptions.prefs_of.register(SqliteDatabase)
async def prefs_of(db: SqliteDatabase, user_ids: Iterable[str]) -> dict[str, UserPrefs]:
    rows = await db.fetchall(
        "SELECT u.* FROM json_each(?) AS k JOIN subscription_users AS u ON u.user_id = k.value",
        (json.dumps(list(user_ids)),))
    return {r["user_id"]: _prefs(r) for r in rows}


@subscriptions.read_papers.register(SqliteDatabase)
async def read_papers(db: SqliteDatabase, paper_ids: Sequence[int], *,
                      digest_id: int | None = None) -> list[PaperText]:
    rows = await db.fetchall(
        "SELECT p.id, p.title, p.abstract FROM json_each(?) AS k JOIN papers AS p ON p.id = k.value"
        " LEFT JOIN digest_entries AS e ON e.digest_id = ? AND e.paper_id = p.id ORDER BY e.position, p.id",
        (json.dumps(list(paper_ids)), digest_id))
    return [PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows]


@subscriptions.papers_listed_since.register(SqliteDatabase)
async def papers_listed_since(db: SqliteDatabase, since: dt.date) -> list[tuple[int, dt.date, int]]:
    rows = await db.fetchall(
        "SELECT e.paper_id, MAX(d.date) AS day, MIN(e.position) AS position FROM digests AS d"
        " JOIN digest_entries AS e ON e.digest_id = d.id WHERE d.date >= ?"
        " GROUP BY e.paper_id ORDER BY day DESC, position, e.paper_id",
        (since.isoformat(),),
    )
    return [(int(r[0]), dt.date.fromisoformat(r[1]), int(r[2])) for r in rows]


@subscriptions.newest_digest_date.register(SqliteDatabase)
async def newest_digest_date(db: SqliteDatabase) -> dt.date | None:
    row = await db.fetchone("SELECT MAX(date) AS d FROM digests")
    return dt.date.fromisoformat(row["d"]) if row and row["d"] else None
