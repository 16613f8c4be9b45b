"""storage/pending_matches.py on PostgreSQL."""

from __future__ import annotations

from storage import pending_matches
from storage.pending_matches import PendingMatch
from storage.postgres.db import PostgresDatabase


@pending_matches.pending.register(PostgresDatabase)
async def pending(db: PostgresDatabase) -> list[PendingMatch]:
    rows = await db.fetchall("SELECT * FROM pending_matches ORDER BY id")
    return [PendingMatch(int(r["id"]), int(r["digest_id"]), tuple(int(p) for p in r["paper_ids"]),
                         r["done_through"], r["created_at"]) for r in rows]


@pending_matches.advance.register(PostgresDatabase)
async def advance(db: PostgresDatabase, match_id: int, done_through: str) -> None:
    # Compared as bytes (COLLATE "C"), as the batches cut user ids and as SQLite's max() does.
    await db.execute(
        'UPDATE pending_matches SET done_through = GREATEST(COALESCE(done_through, \'\') COLLATE "C", $1)'
        " WHERE id = $2", (done_through, match_id))


@pending_matches.finish.register(PostgresDatabase)
async def finish(db: PostgresDatabase, match_id: int) -> None:
    await db.execute("DELETE FROM pending_matches WHERE id = $1", (match_id,))
