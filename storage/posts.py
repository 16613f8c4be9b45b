"""The post log: one row per server and local day, so the daily post goes out exactly once.

A row is inserted (claimed) before anything is sent; the UNIQUE (guild_id, post_date) key means
a second claim for the same day — another task, another process, a restart — finds it taken.
Status flow: pending → sending → sent; sending → pending (retry, with next_attempt_at) or failed;
a crash leaves 'sending', which start-up recovery turns into a keyed re-send or 'unknown'.
'skipped' rows say why a day had no post.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import Database, iso, now_utc, parse_iso
from storage.sendlog import GroupWriter, RowUpdate, Starter, update_row, update_rows

STATUSES = ("pending", "sending", "sent", "failed", "skipped", "unknown")
KINDS = ("digest", "note", "none")  # the day's digest, the "no digest today" note, nothing to post


@dataclass(slots=True, frozen=True)
class PostRecord:
    id: int
    guild_id: str
    channel_id: str
    post_date: dt.date
    digest_id: int | None
    kind: str
    status: str
    reason: str | None
    key: str
    attempts: int
    next_attempt_at: dt.datetime | None
    message_id: str | None
    thread_id: str | None
    pages_sent: int
    error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    digest_source: str | None = None  # of the digest it carries, for listings
    digest_date: dt.date | None = None


_SELECT = (
    "SELECT p.id, p.guild_id, p.channel_id, p.post_date, p.digest_id, p.kind, p.status, p.reason, p.key,"
    " p.attempts, p.next_attempt_at, p.message_id, p.thread_id, p.pages_sent, p.error, p.created_at,"
    " p.updated_at, d.source AS digest_source, d.date AS digest_date"
    " FROM posts AS p LEFT JOIN digests AS d ON d.id = p.digest_id"
)

# Columns `update_post` may set: a fixed list, so the names put into its SQL are never user text.
_UPDATABLE = ("status", "reason", "attempts", "next_attempt_at", "message_id", "thread_id", "pages_sent", "error")


def _maybe_time(text: str | None) -> dt.datetime | None:
    return parse_iso(text) if text else None


def _from_row(row: sqlite3.Row) -> PostRecord:
    return PostRecord(
        id=row["id"], guild_id=row["guild_id"], channel_id=row["channel_id"],
        post_date=dt.date.fromisoformat(row["post_date"]), digest_id=row["digest_id"], kind=row["kind"],
        status=row["status"], reason=row["reason"], key=row["key"], attempts=row["attempts"],
        next_attempt_at=_maybe_time(row["next_attempt_at"]), message_id=row["message_id"],
        thread_id=row["thread_id"], pages_sent=row["pages_sent"], error=row["error"],
        created_at=parse_iso(row["created_at"]), updated_at=parse_iso(row["updated_at"]),
        digest_source=row["digest_source"],
        digest_date=dt.date.fromisoformat(row["digest_date"]) if row["digest_date"] else None,
    )


async def claim(db: Database, *, guild_id: str, channel_id: str, post_date: dt.date, kind: str,
                key: str, digest_id: int | None = None, status: str = "pending", reason: str | None = None,
                now: dt.datetime | None = None) -> PostRecord | None:
    """Insert the day's row; None when the server's day is already in the log (nothing written)."""
    stamp = iso(now or now_utc())
    async with db.transaction() as conn, conn.execute(
        "INSERT INTO posts (guild_id, channel_id, post_date, digest_id, kind, status, reason, key,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        (guild_id, channel_id, post_date.isoformat(), digest_id, kind, status, reason, key, stamp, stamp),
    ) as cursor:
        inserted = await cursor.fetchone()
    return await get_post(db, int(inserted[0])) if inserted else None


@dataclass(slots=True, frozen=True)
class Claim:
    """A day to put in the log (see `claim`)."""

    guild_id: str
    channel_id: str
    post_date: dt.date
    kind: str
    key: str
    digest_id: int | None = None
    status: str = "pending"
    reason: str | None = None


async def claim_many(db: Database, claims: Sequence[Claim], *, now: dt.datetime | None = None,
                     ) -> list[PostRecord | None]:
    """`claim` for many days in one transaction and one statement: the new rows, in order, None
    for each day already in the log (or whose key is)."""
    if not claims:
        return []
    stamp = iso(now or now_utc())
    rows = json.dumps([[c.guild_id, c.channel_id, c.post_date.isoformat(), c.digest_id, c.kind, c.status,
                        c.reason, c.key] for c in claims])
    async with db.transaction() as conn, conn.execute(
        # WHERE true: SQLite's upsert after INSERT … SELECT needs it to parse ON CONFLICT.
        "INSERT INTO posts (guild_id, channel_id, post_date, digest_id, kind, status, reason, key,"
        " created_at, updated_at)"
        " SELECT k.value ->> 0, k.value ->> 1, k.value ->> 2, k.value ->> 3, k.value ->> 4, k.value ->> 5,"
        " k.value ->> 6, k.value ->> 7, ?, ? FROM json_each(?) AS k WHERE true ORDER BY k.key"
        " ON CONFLICT DO NOTHING RETURNING id, key",
        (stamp, stamp, rows),
    ) as cursor:
        inserted = {str(r[1]): int(r[0]) for r in await cursor.fetchall()}
    found = {p.id: p for p in await get_posts(db, list(inserted.values()))}
    return [found.get(inserted[c.key]) if c.key in inserted else None for c in claims]


async def update_post(db: Database, post_id: int, *, expect: str | Sequence[str] | None = None,
                      now: dt.datetime | None = None, **values: Any) -> bool:
    """Set some of the row's columns. With `expect`, only while its status is one of those (a
    compare-and-set: two tasks cannot both move a row out of 'pending'). True when it changed."""
    return await update_row(db, "posts", _UPDATABLE, post_id, expect=expect, now=now, **values)


async def update_posts(db: Database, updates: Sequence[RowUpdate], *, now: dt.datetime | None = None) -> set[int]:
    """Many `update_post`s in one transaction; the ids of the rows that changed."""
    return await update_rows(db, "posts", _UPDATABLE, updates, now=now)


def post_writer(db: Database, *, linger: float = 0.0) -> GroupWriter:
    """`update_post` for concurrent senders, sharing transactions (see storage.sendlog.GroupWriter)."""
    return GroupWriter(db, "posts", _UPDATABLE, linger=linger)


def post_starter(db: Database, *, ahead: int) -> Starter:
    """'sending' for planned posts, `ahead` at a time (see storage.sendlog.Starter)."""
    return Starter(db, "posts", _UPDATABLE, ahead=ahead)


async def get_post(db: Database, post_id: int) -> PostRecord | None:
    row = await db.fetchone(f"{_SELECT} WHERE p.id = ?", (post_id,))
    return _from_row(row) if row else None


async def get_posts(db: Database, post_ids: Sequence[int]) -> list[PostRecord]:
    """These rows (those that exist), in id order."""
    rows = await db.fetchall(f"{_SELECT} WHERE p.id IN (SELECT value FROM json_each(?)) ORDER BY p.id",  # noqa: S608
                             (json.dumps(list(post_ids)),))
    return [_from_row(r) for r in rows]


async def posts_since(db: Database, day: dt.date) -> list[PostRecord]:
    """Every row for local days from `day` on (what the scheduler needs to decide)."""
    rows = await db.fetchall(f"{_SELECT} WHERE p.post_date >= ? ORDER BY p.id", (day.isoformat(),))
    return [_from_row(r) for r in rows]


async def posts_in_status(db: Database, statuses: Sequence[str], *,
                          platform: str | None = None) -> list[PostRecord]:
    """Posts in any of `statuses`, optionally only one platform's servers ("console", "discord")."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE p.status IN ({', '.join('?' for _ in statuses)})"  # noqa: S608
        " AND (? IS NULL OR substr(p.guild_id, 1, length(?) + 1) = ? || ':') ORDER BY p.id",
        [*statuses, platform, platform, platform],
    )
    return [_from_row(r) for r in rows]


async def list_posts(db: Database, *, guild_id: str | None = None, status: str | None = None,
                     limit: int | None = None) -> list[PostRecord]:
    """The log, newest day first."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE (? IS NULL OR p.guild_id = ?) AND (? IS NULL OR p.status = ?)"  # noqa: S608
        " ORDER BY p.post_date DESC, p.guild_id LIMIT ?",
        (guild_id, guild_id, status, status, -1 if limit is None else limit),
    )
    return [_from_row(r) for r in rows]
