"""storage/votes.py on SQLite."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from storage import votes
from storage.db import iso
from storage.sqlite.db import SqliteDatabase


@votes.cast.register(SqliteDatabase)
async def cast(db: SqliteDatabase, guild_id: str, user_id: str, paper_id: int, *, now: dt.datetime) -> bool:
    return await db.execute(
        "INSERT INTO votes (guild_id, paper_id, user_id, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (guild_id, paper_id, user_id) DO NOTHING",
        (guild_id, paper_id, user_id, iso(now))) > 0


@votes.retract.register(SqliteDatabase)
async def retract(db: SqliteDatabase, guild_id: str, user_id: str, paper_id: int) -> bool:
    return await db.execute("DELETE FROM votes WHERE guild_id = ? AND paper_id = ? AND user_id = ?",
                            (guild_id, paper_id, user_id)) > 0


@votes.has_voted.register(SqliteDatabase)
async def has_voted(db: SqliteDatabase, guild_id: str, user_id: str, paper_id: int) -> bool:
    return await db.fetchone("SELECT 1 FROM votes WHERE guild_id = ? AND paper_id = ? AND user_id = ?",
                             (guild_id, paper_id, user_id)) is not None


@votes.count.register(SqliteDatabase)
async def count(db: SqliteDatabase, guild_id: str, paper_id: int) -> int:
    row = await db.fetchone("SELECT count(*) FROM votes WHERE guild_id = ? AND paper_id = ?", (guild_id, paper_id))
    return int(row[0]) if row else 0


@votes.counts.register(SqliteDatabase)
async def counts(db: SqliteDatabase, guild_id: str, paper_ids: Sequence[int]) -> dict[int, int]:
    rows = await db.fetchall(
        "SELECT paper_id, count(*) FROM votes WHERE guild_id = ? AND paper_id IN (SELECT value FROM json_each(?))"
        " GROUP BY paper_id", (guild_id, json.dumps(list(paper_ids))))
    return {int(r[0]): int(r[1]) for r in rows}


@votes.period_votes.register(SqliteDatabase)
async def period_votes(db: SqliteDatabase, guild_id: str | None, since: dt.datetime | None) -> dict[int, int]:
    rows = await db.fetchall(
        "SELECT paper_id, count(*) FROM votes WHERE (?1 IS NULL OR guild_id = ?1) AND (?2 IS NULL OR created_at >= ?2)"
        " GROUP BY paper_id", (guild_id, iso(since) if since is not None else None))
    return {int(r[0]): int(r[1]) for r in rows}


@votes.top_upvoted.register(SqliteDatabase)
async def top_upvoted(db: SqliteDatabase, since: dt.date | None, limit: int) -> list[tuple[int, int]]:
    if since is None:  # all time: the partial index of upvoted listings alone
        rows = await db.fetchall(
            "SELECT paper_id, max(upvotes) AS up FROM digest_entries INDEXED BY digest_entries_upvoted"
            " WHERE upvotes IS NOT NULL GROUP BY paper_id ORDER BY up DESC, paper_id LIMIT ?", (limit,))
    else:  # a period: the period's digests first, then their listings
        rows = await db.fetchall(
            "SELECT e.paper_id, max(e.upvotes) AS up FROM digests AS d"
            " JOIN digest_entries AS e ON e.digest_id = d.id"
            " WHERE d.date >= ? AND e.upvotes IS NOT NULL GROUP BY e.paper_id ORDER BY up DESC, e.paper_id LIMIT ?",
            (since.isoformat(), limit))
    return [(int(r[0]), int(r[1])) for r in rows]


@votes.upvotes_of.register(SqliteDatabase)
async def upvotes_of(db: SqliteDatabase, paper_ids: Sequence[int], since: dt.date | None) -> dict[int, int]:
    rows = await db.fetchall(
        "SELECT e.paper_id, max(e.upvotes) FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
        " WHERE e.paper_id IN (SELECT value FROM json_each(?)) AND e.upvotes IS NOT NULL"
        " AND d.date >= ? GROUP BY e.paper_id",
        (json.dumps(list(paper_ids)), since.isoformat() if since is not None else ""))
    return {int(r[0]): int(r[1]) for r in rows}


@votes.voted_paper_ids.register(SqliteDatabase)
async def voted_paper_ids(db: SqliteDatabase, user_id: str, *, guild_id: str | None = None,
                          since: dt.datetime | None = None) -> list[int]:
    rows = await db.fetchall(
        "SELECT paper_id FROM votes WHERE user_id = ?1 AND (?2 IS NULL OR guild_id = ?2)"
        " AND (?3 IS NULL OR created_at >= ?3) GROUP BY paper_id ORDER BY max(created_at) DESC, paper_id DESC",
        (user_id, guild_id, iso(since) if since is not None else None))
    return [int(r[0]) for r in rows]


@votes.move_votes.register(SqliteDatabase)
async def move_votes(db: SqliteDatabase, from_paper: int, to_paper: int) -> None:
    await move_rows(db, "votes", ("guild_id", "user_id", "created_at"), from_paper, to_paper)


async def move_rows(db: SqliteDatabase, table: str, columns: tuple[str, ...], from_paper: int, to_paper: int) -> None:
    """Re-point `table`'s rows from one paper to another, keeping the row already there on a
    clash. `table` and `columns` are this package's constants, never input."""
    kept = ", ".join(columns)
    async with db.transaction() as conn:
        await conn.execute(f"INSERT OR IGNORE INTO {table} (paper_id, {kept})"  # noqa: S608 - constants
                           f" SELECT ?, {kept} FROM {table} WHERE paper_id = ?", (to_paper, from_paper))
        await conn.execute(f"DELETE FROM {table} WHERE paper_id = ?", (from_paper,))  # noqa: S608
