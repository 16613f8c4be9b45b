"""storage/pending_matches.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import pending_matches
from storage.db import now_utc
from storage.pending_matches import PendingMatch
from storage.postgres.db import PostgresDatabase


@pending_matches.add.register(PostgresDatabase)
async def add(db: PostgresDatabase, digest_id: int, paper_ids: Sequence[int], *,
              now: dt.datetime | None = None) -> int:
    row = await db.fetchone(
        "INSERT INTO pending_matches (digest_id, paper_ids, created_at) VALUES ($1, $2, $3) RETURNING id",
        (digest_id, list(paper_ids), now or now_utc()))
    assert row is not None
    return int(row[0])


@pending_matches.pending.register(PostgresDatabase)
async def pending(db: PostgresDatabase) -> list[PendingMatch]:
    rows = await db.fetchall("SELECT id, digest_id, paper_ids, done_through, created_at FROM pending_matches"
                             " ORDER BY id")
    return [PendingMatch(int(r["id"]), int(r["digest_id"]), tuple(int(p) for p in r["paper_ids"]),
                         r["done_through"], r["created_at"]) for r in rows]


@pending_matches.advance.register(PostgresDatabase)
async def advance(db: PostgresDatabase, match_id: int, done_through: str) -> None:
    # COLLATE "C": compared code point by code point, like SQLite's max() and Python's sort.
    await db.execute(
        "UPDATE pending_matches SET done_through = GREATEST(COALESCE(done_through, '') COLLATE \"C\","
        " $1::text COLLATE \"C\") WHERE id = $2",
        (done_through, match_id))


@pending_matches.finish.register(PostgresDatabase)
async def finish(db: PostgresDatabase, match_id: int) -> None:
    await db.execute("DELETE FROM pending_matches WHERE id = $1", (match_id,))
