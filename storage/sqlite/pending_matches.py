"""storage/pending_matches.py on SQLite."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from storage import pending_matches
from storage.db import iso, now_utc, parse_iso
from storage.pending_matches import PendingMatch
from storage.sqlite.db import SqliteDatabase


@pending_matches.add.register(SqliteDatabase)
async def add(db: SqliteDatabase, digest_id: int, paper_ids: Sequence[int], *, now: dt.datetime | None = None) -> int:
    async with db.transaction() as conn, conn.execute(
        "INSERT INTO pending_matches (digest_id, paper_ids, created_at) VALUES (?, ?, ?) RETURNING id",
        (digest_id, json.dumps(list(paper_ids)), iso(now or now_utc())),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


@pending_matches.pending.register(SqliteDatabase)
async def pending(db: SqliteDatabase) -> list[PendingMatch]:
    rows = await db.fetchall("SELECT * FROM pending_matches ORDER BY id")
    return [PendingMatch(int(r["id"]), int(r["digest_id"]), tuple(int(p) for p in json.loads(r["paper_ids"])),
                         r["done_through"], parse_iso(r["created_at"])) for r in rows]


@pending_matches.advance.register(SqliteDatabase)
async def advance(db: SqliteDatabase, match_id: int, done_through: str) -> None:
    await db.execute(
        "UPDATE pending_matches SET done_through = max(COALESCE(done_through, ''), ?) WHERE id = ?",
        (done_through, match_id))


@pending_matches.finish.register(SqliteDatabase)
async def finish(db: SqliteDatabase, match_id: int) -> None:
    await db.execute("DELETE FROM pending_matches WHERE id = ?", (match_id,))
