"""storage/posts.py on PostgreSQL.

Several processes claim the same days here at the same moment: `INSERT … ON CONFLICT DO NOTHING`
lets exactly one of them insert each server's day (the others wait for its transaction on the
unique index, then find the day taken), as the UNIQUE key does for one SQLite file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

from storage import posts
from storage.db import now_utc
from storage.postgres.db import PostgresDatabase, seconds
from storage.posts import Claim, PostRecord

_SELECT = (
    "SELECT p.id, p.guild_id, p.channel_id, p.post_date, p.digest_id, p.kind, p.status, p.reason, p.key,"
    " p.attempts, p.next_attempt_at, p.message_id, p.thread_id, p.pages_sent, p.error, p.created_at,"
    " p.updated_at, d.source AS digest_source, d.date AS digest_date"
    " FROM posts AS p LEFT JOIN digests AS d ON d.id = p.digest_id"
)

# The space of the posts' holds (PostgresDatabase.holds): "post".
_HOLDS = 0x706F7374

# Two processes claiming overlapping days in different orders can deadlock on the unique index;
# PostgreSQL then rolls one back whole, and claiming again is safe (nothing of it was written).
_DEADLOCK_RETRIES = 3


def _from_row(row: asyncpg.Record) -> PostRecord:
    return PostRecord(
        id=row["id"], guild_id=row["guild_id"], channel_id=row["channel_id"], post_date=row["post_date"],
        digest_id=row["digest_id"], kind=row["kind"], status=row["status"], reason=row["reason"], key=row["key"],
        attempts=row["attempts"], next_attempt_at=row["next_attempt_at"], message_id=row["message_id"],
        thread_id=row["thread_id"], pages_sent=row["pages_sent"], error=row["error"],
        created_at=row["created_at"], updated_at=row["updated_at"], digest_source=row["digest_source"],
        digest_date=row["digest_date"],
    )


@posts.claim.register(PostgresDatabase)
async def claim(db: PostgresDatabase, *, guild_id: str, channel_id: str, post_date: dt.date, kind: str,
                key: str, digest_id: int | None = None, status: str = "pending", reason: str | None = None,
                now: dt.datetime | None = None) -> PostRecord | None:
    found = await claim_many(db, [Claim(guild_id, channel_id, post_date, kind, key, digest_id, status, reason)],
                             now=now)
    return found[0]


@posts.claim_many.register(PostgresDatabase)
async def claim_many(db: PostgresDatabase, claims: Sequence[Claim], *, now: dt.datetime | None = None,
                     ) -> list[PostRecord | None]:
    if not claims:
        return []
    stamp = seconds(now or now_utc())
    columns: list[list[Any]] = [
        [c.guild_id for c in claims], [c.channel_id for c in claims], [c.post_date for c in claims],
        [c.digest_id for c in claims], [c.kind for c in claims], [c.status for c in claims],
        [c.reason for c in claims], [c.key for c in claims]]
    for attempt in range(_DEADLOCK_RETRIES):
        try:
            async with db.transaction() as conn:
                rows = await conn.fetch(
                    "INSERT INTO posts (guild_id, channel_id, post_date, digest_id, kind, status, reason, key,"
                    " created_at, updated_at)"
                    " SELECT k.guild_id, k.channel_id, k.post_date, k.digest_id, k.kind, k.status, k.reason, k.key,"
                    " $9, $9 FROM unnest($1::text[], $2::text[], $3::date[], $4::bigint[], $5::text[], $6::text[],"
                    " $7::text[], $8::text[]) WITH ORDINALITY"
                    " AS k (guild_id, channel_id, post_date, digest_id, kind, status, reason, key, n)"
                    # Days already logged are left out before they draw an id, so ids follow one
                    # another as on SQLite; ON CONFLICT settles a race with another process.
                    " WHERE NOT EXISTS (SELECT 1 FROM posts AS p WHERE (p.guild_id = k.guild_id"
                    " AND p.post_date = k.post_date) OR p.key = k.key)"
                    " ORDER BY k.n ON CONFLICT DO NOTHING RETURNING id, key",
                    *columns, stamp)
            break
        except asyncpg.DeadlockDetectedError:
            if attempt == _DEADLOCK_RETRIES - 1:
                raise
    inserted = {str(r["key"]): int(r["id"]) for r in rows}
    found = {p.id: p for p in await get_posts(db, list(inserted.values()))}
    return [found.get(inserted[c.key]) if c.key in inserted else None for c in claims]


@posts.get_post.register(PostgresDatabase)
async def get_post(db: PostgresDatabase, post_id: int) -> PostRecord | None:
    row = await db.fetchone(f"{_SELECT} WHERE p.id = $1", (post_id,))
    return _from_row(row) if row else None


@posts.get_posts.register(PostgresDatabase)
async def get_posts(db: PostgresDatabase, post_ids: Sequence[int]) -> list[PostRecord]:
    rows = await db.fetchall(f"{_SELECT} WHERE p.id = ANY($1::bigint[]) ORDER BY p.id", (list(post_ids),))
    return [_from_row(r) for r in rows]


@posts.posts_since.register(PostgresDatabase)
async def posts_since(db: PostgresDatabase, day: dt.date) -> list[PostRecord]:
    rows = await db.fetchall(f"{_SELECT} WHERE p.post_date >= $1 ORDER BY p.id", (day,))
    return [_from_row(r) for r in rows]


@posts.posts_in_status.register(PostgresDatabase)
async def posts_in_status(db: PostgresDatabase, statuses: Sequence[str], *,
                          platform: str | None = None) -> list[PostRecord]:
    rows = await db.fetchall(
        f"{_SELECT} WHERE p.status = ANY($1::text[])"
        " AND ($2::text IS NULL OR left(p.guild_id, length($2) + 1) = $2 || ':') ORDER BY p.id",
        (list(statuses), platform),
    )
    return [_from_row(r) for r in rows]


@posts.count_by_status.register(PostgresDatabase)
async def count_by_status(db: PostgresDatabase) -> dict[str, int]:
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM posts GROUP BY status")
    return {str(r["status"]): int(r["n"]) for r in rows}


@posts.list_posts.register(PostgresDatabase)
async def list_posts(db: PostgresDatabase, *, guild_id: str | None = None, status: str | None = None,
                     limit: int | None = None) -> list[PostRecord]:
    rows = await db.fetchall(
        f"{_SELECT} WHERE ($1::text IS NULL OR p.guild_id = $1) AND ($2::text IS NULL OR p.status = $2)"
        ' ORDER BY p.post_date DESC, p.guild_id COLLATE "C" LIMIT $3',
        # SQLite reads a negative LIMIT as none at all; PostgreSQL refuses one.
        (guild_id, status, None if limit is None or limit < 0 else limit),
    )
    return [_from_row(r) for r in rows]


@posts.hold_posts.register(PostgresDatabase)
async def hold_posts(db: PostgresDatabase, post_ids: Sequence[int]) -> set[int]:
    return await db.holds.take(_HOLDS, post_ids)


@posts.release_posts.register(PostgresDatabase)
async def release_posts(db: PostgresDatabase, post_ids: Sequence[int]) -> None:
    await db.holds.release(_HOLDS, post_ids)
