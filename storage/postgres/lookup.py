"""storage/lookup.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from storage import lookup
from storage.lookup import MatchDetails, TitleRow, snapshot_parts, snapshot_rows, title_row
from storage.postgres.db import PostgresDatabase


@lookup.titles_after.register(PostgresDatabase)
async def titles_after(db: PostgresDatabase, paper_id: int, limit: int) -> list[TitleRow]:
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id > $1 ORDER BY id LIMIT $2", (paper_id, limit))
    return [title_row(r) for r in rows]


@lookup.titles_by_id.register(PostgresDatabase)
async def titles_by_id(db: PostgresDatabase, paper_ids: Sequence[int]) -> list[TitleRow]:
    if not paper_ids:
        return []
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id = ANY($1::bigint[]) ORDER BY id", (list(paper_ids),))
    return [title_row(r) for r in rows]


@lookup.last_title_change.register(PostgresDatabase)
async def last_title_change(db: PostgresDatabase) -> int:
    row = await db.fetchone("SELECT COALESCE(MAX(seq), 0) FROM title_changes")
    return int(row[0]) if row else 0


@lookup.oldest_title_change.register(PostgresDatabase)
async def oldest_title_change(db: PostgresDatabase) -> int:
    row = await db.fetchone("SELECT COALESCE(MIN(seq), 0) FROM title_changes")
    return int(row[0]) if row else 0


@lookup.title_changes_after.register(PostgresDatabase)
async def title_changes_after(db: PostgresDatabase, seq: int) -> list[tuple[int, int]]:
    rows = await db.fetchall("SELECT seq, paper_id FROM title_changes WHERE seq > $1 ORDER BY seq", (seq,))
    return [(int(r["seq"]), int(r["paper_id"])) for r in rows]


@lookup.prune_title_changes.register(PostgresDatabase)
async def prune_title_changes(db: PostgresDatabase, through: int) -> None:
    await db.execute("DELETE FROM title_changes WHERE seq <= $1", (through,))


@lookup.paper_dates.register(PostgresDatabase)
async def paper_dates(db: PostgresDatabase, paper_ids: Sequence[int]) -> dict[int, tuple[dt.date | None, dt.date]]:
    rows = await db.fetchall(
        "SELECT id, published, first_listed FROM papers WHERE id = ANY($1::bigint[])", (list(paper_ids),))
    return {int(r["id"]): (r["published"], r["first_listed"]) for r in rows}


@lookup.match_details.register(PostgresDatabase)
async def match_details(db: PostgresDatabase, paper_ids: Sequence[int]) -> dict[int, MatchDetails]:
    if not paper_ids:
        return {}
    rows = await db.fetchall(
        "SELECT p.id, p.title, p.arxiv_id, p.published, COUNT(e.paper_id) AS listings,"
        " COALESCE(MAX(e.upvotes), 0) AS upvotes FROM papers AS p"
        " LEFT JOIN digest_entries AS e ON e.paper_id = p.id"
        " WHERE p.id = ANY($1::bigint[]) GROUP BY p.id", (list(paper_ids),))
    return {int(r["id"]): MatchDetails(r["title"], r["arxiv_id"], r["published"], int(r["listings"]), int(r["upvotes"]))
            for r in rows}


@lookup.save_snapshot.register(PostgresDatabase)
async def save_snapshot(db: PostgresDatabase, parts: Mapping[str, bytes]) -> int:
    rows = snapshot_rows(parts)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM title_snapshot")
        await conn.executemany("INSERT INTO title_snapshot (part, chunk, data) VALUES ($1, $2, $3)", rows)
    return sum(len(r[2]) for r in rows)


@lookup.load_snapshot.register(PostgresDatabase)
async def load_snapshot(db: PostgresDatabase) -> dict[str, bytes] | None:
    return snapshot_parts(await db.fetchall(
        'SELECT part, chunk, data FROM title_snapshot ORDER BY part COLLATE "C", chunk'))
