"""storage/subscriptions.py on PostgreSQL.

User ids are ordered as bytes (COLLATE "C"), as SQLite compares them and as the queue's batches
cut them in Python. Adding a topic locks the user's row, so two processes adding at once still
respect the limit and never both add the same query (SQLite's single writer does that there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from storage import subscriptions
from storage.db import now_utc
from storage.postgres.db import PostgresDatabase
from storage.subscriptions import PREF_COLUMNS, AddResult, PaperText, Subscription, UserPrefs


def _moment(value: dt.datetime | None) -> dt.datetime:
    # Whole seconds, as the SQLite side stores them (storage.db.iso).
    return (value or now_utc()).replace(microsecond=0)


def _prefs(row: asyncpg.Record) -> UserPrefs:
    return UserPrefs(row["user_id"], row["paused"], row["delivery"], row["fallback"], row["guild_id"], row["cap"])


@subscriptions.get_prefs.register(PostgresDatabase)
async def get_prefs(db: PostgresDatabase, user_id: str) -> UserPrefs:
    row = await db.fetchone("SELECT * FROM subscription_users WHERE user_id = $1", (user_id,))
    return _prefs(row) if row else UserPrefs(user_id)


@subscriptions.save_prefs.register(PostgresDatabase)
async def save_prefs(db: PostgresDatabase, user_id: str, *, now: dt.datetime | None = None,
                     **values: Any) -> UserPrefs:
    unknown = set(values) - set(PREF_COLUMNS)
    if unknown:
        raise ValueError(f"not a preference: {sorted(unknown)}")
    stamp = _moment(now)
    sets = "".join(f", {name} = ${i + 3}" for i, name in enumerate(values))
    async with db.transaction() as conn:
        await _ensure_user(conn, user_id, stamp)
        await conn.execute(f"UPDATE subscription_users SET updated_at = $2{sets} WHERE user_id = $1",  # noqa: S608
                           user_id, stamp, *values.values())
    return await get_prefs(db, user_id)


async def _ensure_user(conn: asyncpg.Connection, user_id: str, stamp: dt.datetime) -> None:
    await conn.execute("INSERT INTO subscription_users (user_id, created_at, updated_at) VALUES ($1, $2, $2)"
                       " ON CONFLICT DO NOTHING", user_id, stamp)


@subscriptions.list_users.register(PostgresDatabase)
async def list_users(db: PostgresDatabase) -> list[UserPrefs]:
    return [_prefs(r) for r in await db.fetchall('SELECT * FROM subscription_users ORDER BY user_id COLLATE "C"')]


def _subscription(row: asyncpg.Record) -> Subscription:
    return Subscription(row["id"], row["user_id"], row["topic"], row["query"], row["created_at"])


@subscriptions.add_subscription.register(PostgresDatabase)
async def add_subscription(db: PostgresDatabase, user_id: str, topic: str, query: str, *, limit: int,
                           now: dt.datetime | None = None) -> AddResult:
    stamp = _moment(now)
    async with db.transaction() as conn:
        await _ensure_user(conn, user_id, stamp)
        await conn.execute("SELECT 1 FROM subscription_users WHERE user_id = $1 FOR UPDATE", user_id)
        existing = await conn.fetchrow("SELECT * FROM subscriptions WHERE user_id = $1 AND query = $2", user_id, query)
        count = int(await conn.fetchval("SELECT COUNT(*) FROM subscriptions WHERE user_id = $1", user_id))
        if existing is not None:
            return AddResult("duplicate", _subscription(existing), count)
        if count >= limit:
            return AddResult("limit", None, count)
        inserted = await conn.fetchrow("INSERT INTO subscriptions (user_id, topic, query, created_at)"
                                       " VALUES ($1, $2, $3, $4) RETURNING *", user_id, topic, query, stamp)
    return AddResult("added", _subscription(inserted), count + 1)


@subscriptions.remove_subscription.register(PostgresDatabase)
async def remove_subscription(db: PostgresDatabase, user_id: str, query: str) -> bool:
    return await db.execute("DELETE FROM subscriptions WHERE user_id = $1 AND query = $2", (user_id, query)) > 0


@subscriptions.list_subscriptions.register(PostgresDatabase)
async def list_subscriptions(db: PostgresDatabase, user_id: str | None = None) -> list[Subscription]:
    rows = await db.fetchall('SELECT * FROM subscriptions WHERE $1::text IS NULL OR user_id = $1'
                             ' ORDER BY user_id COLLATE "C", id', (user_id,))
    return [_subscription(r) for r in rows]


@subscriptions.active_queries.register(PostgresDatabase)
async def active_queries(db: PostgresDatabase) -> list[str]:
    rows = await db.fetchall(
        "SELECT DISTINCT s.query FROM subscriptions AS s JOIN subscription_users AS u ON u.user_id = s.user_id"
        " WHERE NOT u.paused")
    return [r[0] for r in rows]


@subscriptions.active_subscribers.register(PostgresDatabase)
async def active_subscribers(db: PostgresDatabase, queries: Sequence[str]) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT s.user_id, s.query FROM subscriptions AS s JOIN subscription_users AS u ON u.user_id = s.user_id"
        ' WHERE s.query = ANY($1::text[]) AND NOT u.paused ORDER BY s.user_id COLLATE "C", s.id',
        (list(queries),))
    return [(r[0], r[1]) for r in rows]


@subscriptions.prefs_of.register(PostgresDatabase)
async def prefs_of(db: PostgresDatabase, user_ids: Iterable[str]) -> dict[str, UserPrefs]:
    rows = await db.fetchall("SELECT * FROM subscription_users WHERE user_id = ANY($1::text[])", (list(user_ids),))
    return {r["user_id"]: _prefs(r) for r in rows}


@subscriptions.read_papers.register(PostgresDatabase)
async def read_papers(db: PostgresDatabase, paper_ids: Sequence[int], *,
                      digest_id: int | None = None) -> list[PaperText]:
    # NULLS FIRST: papers the digest does not list come first, as SQLite sorts NULLs.
    rows = await db.fetchall(
        "SELECT p.id, p.title, p.abstract FROM papers AS p"
        " LEFT JOIN digest_entries AS e ON e.digest_id = $2 AND e.paper_id = p.id"
        " WHERE p.id = ANY($1::bigint[]) ORDER BY e.position NULLS FIRST, p.id",
        (list(paper_ids), digest_id))
    return [PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows]


@subscriptions.papers_listed_since.register(PostgresDatabase)
async def papers_listed_since(db: PostgresDatabase, since: dt.date) -> list[tuple[int, dt.date, int]]:
    rows = await db.fetchall(
        "SELECT e.paper_id, MAX(d.date) AS day, MIN(e.position) AS position FROM digests AS d"
        " JOIN digest_entries AS e ON e.digest_id = d.id WHERE d.date >= $1"
        " GROUP BY e.paper_id ORDER BY day DESC, position, e.paper_id",
        (since,),
    )
    return [(int(r[0]), r[1], int(r[2])) for r in rows]


@subscriptions.newest_digest_date.register(PostgresDatabase)
async def newest_digest_date(db: PostgresDatabase) -> dt.date | None:
    row = await db.fetchone("SELECT MAX(date) AS d FROM digests")
    return row["d"] if row else None
