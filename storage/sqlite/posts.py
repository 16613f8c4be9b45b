"""storage/posts.py on SQLite."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence

from storage import posts
from storage.db import iso, now_utc, parse_iso
from storage.posts import Claim, PostRecord
from storage.sqlite.db import SqliteDatabase

# The space of the posts' holds (storage/sqlite/holds.py): "post".
_HOLDS = 0x706F7374

_SELECT = (
    "SELECT p.id, p.guild_id, p.channel_id, p.post_date, p.digest_id, p.kind, p.status, p.reason, p.key,"
    " p.attempts, p.next_attempt_at, p.message_id, p.thread_id, p.pages_sent, p.error, p.created_at,"
    " p.updated_at, d.source AS digest_source, d.date AS digest_date"
    " FROM posts AS p LEFT JOIN digests AS d ON d.id = p.digest_id"
)


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


@posts.claim.register(SqliteDatabase)
async def claim(db: SqliteDatabase, *, guild_id: str, channel_id: str, post_date: dt.date, kind: str,
                key: str, digest_id: int | None = None, status: str = "pending", reason: str | None = None,
                now: dt.datetime | None = None) -> PostRecord | None:
    stamp = iso(now or now_utc())
    async with db.transaction() as conn, conn.execute(
        "INSERT INTO posts (guild_id, channel_id, post_date, digest_id, kind, status, reason, key,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING id",
        (guild_id, channel_id, post_date.isoformat(), digest_id, kind, status, reason, key, stamp, stamp),
    ) as cursor:
        inserted = await cursor.fetchone()
    return await get_post(db, int(inserted[0])) if inserted else None


@posts.claim_many.register(SqliteDatabase)
async def claim_many(db: SqliteDatabase, claims: Sequence[Claim], *, now: dt.datetime | None = None,
                     ) -> list[PostRecord | None]:
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


@posts.get_post.register(SqliteDatabase)
async def get_post(db: SqliteDatabase, post_id: int) -> PostRecord | None:
    row = await db.fetchone(f"{_SELECT} WHERE p.id = ?", (post_id,))
    return _from_row(row) if row else None


@posts.get_posts.register(SqliteDatabase)
async def get_posts(db: SqliteDatabase, post_ids: Sequence[int]) -> list[PostRecord]:
    rows = await db.fetchall(f"{_SELECT} WHERE p.id IN (SELECT value FROM json_each(?)) ORDER BY p.id",  # noqa: S608
                             (json.dumps(list(post_ids)),))
    return [_from_row(r) for r in rows]


@posts.posts_since.register(SqliteDatabase)
async def posts_since(db: SqliteDatabase, day: dt.date) -> list[PostRecord]:
    rows = await db.fetchall(f"{_SELECT} WHERE p.post_date >= ? ORDER BY p.id", (day.isoformat(),))
    return [_from_row(r) for r in rows]


@posts.posts_in_status.register(SqliteDatabase)
async def posts_in_status(db: SqliteDatabase, statuses: Sequence[str], *,
                          platform: str | None = None) -> list[PostRecord]:
    rows = await db.fetchall(
        f"{_SELECT} WHERE p.status IN ({', '.join('?' for _ in statuses)})"  # noqa: S608
        " AND (? IS NULL OR substr(p.guild_id, 1, length(?) + 1) = ? || ':') ORDER BY p.id",
        [*statuses, platform, platform, platform],
    )
    return [_from_row(r) for r in rows]


@posts.count_by_status.register(SqliteDatabase)
async def count_by_status(db: SqliteDatabase) -> dict[str, int]:
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM posts GROUP BY status")
    return {str(r["status"]): int(r["n"]) for r in rows}


@posts.list_posts.register(SqliteDatabase)
async def list_posts(db: SqliteDatabase, *, guild_id: str | None = None, status: str | None = None,
                     limit: int | None = None) -> list[PostRecord]:
    rows = await db.fetchall(
        f"{_SELECT} WHERE (? IS NULL OR p.guild_id = ?) AND (? IS NULL OR p.status = ?)"  # noqa: S608
        " ORDER BY p.post_date DESC, p.guild_id LIMIT ?",
        (guild_id, guild_id, status, status, -1 if limit is None else limit),
    )
    return [_from_row(r) for r in rows]


@posts.hold_posts.register(SqliteDatabase)
async def hold_posts(db: SqliteDatabase, post_ids: Sequence[int]) -> set[int]:
    return db.holds.take(_HOLDS, post_ids)


@posts.release_posts.register(SqliteDatabase)
async def release_posts(db: SqliteDatabase, post_ids: Sequence[int]) -> None:
    db.holds.release(_HOLDS, post_ids)
