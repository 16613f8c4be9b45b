"""storage/votes.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import votes
from storage.postgres.db import PostgresDatabase


@votes.cast.register(PostgresDatabase)
async def cast(db: PostgresDatabase, guild_id: str, user_id: str, paper_id: int, *, now: dt.datetime) -> bool:
    return await db.execute(
        "INSERT INTO votes (guild_id, paper_id, user_id, created_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (guild_id, paper_id, user_id) DO NOTHING",
        (guild_id, paper_id, user_id, now)) > 0


@votes.retract.register(PostgresDatabase)
async def retract(db: PostgresDatabase, guild_id: str, user_id: str, paper_id: int) -> bool:
    return await db.execute("DELETE FROM votes WHERE guild_id = $1 AND paper_id = $2 AND user_id = $3",
                            (guild_id, paper_id, user_id)) > 0


@votes.has_voted.register(PostgresDatabase)
async def has_voted(db: PostgresDatabase, guild_id: str, user_id: str, paper_id: int) -> bool:
    return await db.fetchone("SELECT 1 FROM votes WHERE guild_id = $1 AND paper_id = $2 AND user_id = $3",
                             (guild_id, paper_id, user_id)) is not None


@votes.count.register(PostgresDatabase)
async def count(db: PostgresDatabase, guild_id: str, paper_id: int) -> int:
    row = await db.fetchone("SELECT count(*) FROM votes WHERE guild_id = $1 AND paper_id = $2", (guild_id, paper_id))
    return int(row[0]) if row else 0


@votes.counts.register(PostgresDatabase)
async def counts(db: PostgresDatabase, guild_id: str, paper_ids: Sequence[int]) -> dict[int, int]:
    rows = await db.fetchall(
        "SELECT paper_id, count(*) FROM votes WHERE guild_id = $1 AND paper_id = ANY($2::bigint[]) GROUP BY paper_id",
        (guild_id, list(paper_ids)))
    return {int(r[0]): int(r[1]) for r in rows}


@votes.period_votes.register(PostgresDatabase)
async def period_votes(db: PostgresDatabase, guild_id: str | None, since: dt.datetime | None) -> dict[int, int]:
    rows = await db.fetchall(
        "SELECT paper_id, count(*) FROM votes WHERE ($1::text IS NULL OR guild_id = $1)"
        " AND ($2::timestamptz IS NULL OR created_at >= $2) GROUP BY paper_id", (guild_id, since))
    return {int(r[0]): int(r[1]) for r in rows}


@votes.top_upvoted.register(PostgresDatabase)
async def top_upvoted(db: PostgresDatabase, since: dt.date | None, limit: int) -> list[tuple[int, int]]:
    if since is None:  # all time: the partial index of upvoted listings alone
        rows = await db.fetchall(
            "SELECT paper_id, max(upvotes) AS up FROM digest_entries WHERE upvotes IS NOT NULL"
            " GROUP BY paper_id ORDER BY up DESC, paper_id LIMIT $1", (limit,))
    else:  # a period: the period's digests first, then their listings
        rows = await db.fetchall(
            "SELECT e.paper_id, max(e.upvotes) AS up FROM digests AS d JOIN digest_entries AS e ON e.digest_id = d.id"
            " WHERE d.date >= $1 AND e.upvotes IS NOT NULL GROUP BY e.paper_id ORDER BY up DESC, e.paper_id LIMIT $2",
            (since, limit))
    return [(int(r[0]), int(r[1])) for r in rows]


@votes.upvotes_of.register(PostgresDatabase)
async def upvotes_of(db: PostgresDatabase, paper_ids: Sequence[int], since: dt.date | None) -> dict[int, int]:
    rows = await db.fetchall(
        "SELECT e.paper_id, max(e.upvotes) FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
        " WHERE e.paper_id = ANY($1::bigint[]) AND e.upvotes IS NOT NULL AND d.date >= $2"
        " GROUP BY e.paper_id", (list(paper_ids), since or dt.date.min))
    return {int(r[0]): int(r[1]) for r in rows}


@votes.voted_paper_ids.register(PostgresDatabase)
async def voted_paper_ids(db: PostgresDatabase, user_id: str, *, guild_id: str | None = None,
                          since: dt.datetime | None = None) -> list[int]:
    rows = await db.fetchall(
        "SELECT paper_id FROM votes WHERE user_id = $1 AND ($2::text IS NULL OR guild_id = $2)"
        " AND ($3::timestamptz IS NULL OR created_at >= $3)"
        " GROUP BY paper_id ORDER BY max(created_at) DESC, paper_id DESC", (user_id, guild_id, since))
    return [int(r[0]) for r in rows]


@votes.move_votes.register(PostgresDatabase)
async def move_votes(db: PostgresDatabase, from_paper: int, to_paper: int) -> None:
    await move_rows(db, "votes", ("guild_id", "user_id", "created_at"), from_paper, to_paper)


async def move_rows(db: PostgresDatabase, table: str, columns: tuple[str, ...], from_paper: int,
                    to_paper: int) -> None:
    """Re-point `table`'s rows from one paper to another, keeping the row already there on a
    clash. `table` and `columns` are this package's constants, never input."""
    kept = ", ".join(columns)
    async with db.atomic() as tx:
        await tx.execute(f"INSERT INTO {table} (paper_id, {kept})"  # noqa: S608 - constants
                         f" SELECT $1, {kept} FROM {table} WHERE paper_id = $2 ON CONFLICT DO NOTHING",
                         (to_paper, from_paper))
        await tx.execute(f"DELETE FROM {table} WHERE paper_id = $1", (from_paper,))  # noqa: S608
