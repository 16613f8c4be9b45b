"""storage/lookup.py on SQLite."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from storage import lookup
from storage.errors import DatabaseUnavailable
from storage.lookup import MatchDetails, TitleChanges, TitleRow, snapshot_parts, snapshot_rows, title_row
from storage.sqlite.db import SqliteDatabase


@lookup.titles_after.register(SqliteDatabase)
async def titles_after(db: SqliteDatabase, paper_id: int, limit: int) -> list[TitleRow]:
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id > ? ORDER BY id LIMIT ?", (paper_id, limit))
    return [title_row(r) for r in rows]


@lookup.titles_by_id.register(SqliteDatabase)
async def titles_by_id(db: SqliteDatabase, paper_ids: Sequence[int]) -> list[TitleRow]:
    if not paper_ids:
        return []
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(list(paper_ids)),))
    return [title_row(r) for r in rows]


@lookup.last_title_change.register(SqliteDatabase)
async def last_title_change(db: SqliteDatabase) -> int:
    row = await db.fetchone("SELECT COALESCE(MAX(seq), 0) FROM title_changes")
    return int(row[0]) if row else 0


@lookup.oldest_title_change.register(SqliteDatabase)
async def oldest_title_change(db: SqliteDatabase) -> int:
    row = await db.fetchone("SELECT COALESCE(MIN(seq), 0) FROM title_changes")
    return int(row[0]) if row else 0


@lookup.title_changes_after.register(SqliteDatabase)
async def title_changes_after(db: SqliteDatabase, seq: int, *, up_to_id: int) -> TitleChanges:
    # One writer at a time commits log rows in sequence order, so what is read here is final.
    bounds = await db.fetchone("SELECT MIN(seq), MAX(seq) FROM title_changes WHERE seq > ?", (seq,))
    if bounds is None or bounds[1] is None:
        return TitleChanges(0, 0, [])
    rows = await db.fetchall(
        "SELECT DISTINCT paper_id FROM title_changes WHERE seq > ? AND seq <= ? AND paper_id <= ? ORDER BY paper_id",
        (seq, bounds[1], up_to_id))
    return TitleChanges(int(bounds[0]), int(bounds[1]), [int(r[0]) for r in rows])


@lookup.prune_title_changes.register(SqliteDatabase)
async def prune_title_changes(db: SqliteDatabase, through: int) -> None:
    await db.execute("DELETE FROM title_changes WHERE seq <= ?", (through,))


@lookup.watch_titles.register(SqliteDatabase)
@asynccontextmanager
async def watch_titles(db: SqliteDatabase, on_change: Callable[[], None]) -> AsyncIterator[bool]:
    yield False  # no notifications between processes: readers poll


@lookup.paper_dates.register(SqliteDatabase)
async def paper_dates(db: SqliteDatabase, paper_ids: Sequence[int]) -> dict[int, tuple[dt.date | None, dt.date]]:
    rows = await db.fetchall(
        "SELECT id, published, first_listed FROM papers WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(paper_ids)),))
    return {int(r["id"]): (dt.date.fromisoformat(r["published"]) if r["published"] else None,
                           dt.date.fromisoformat(r["first_listed"])) for r in rows}


@lookup.match_details.register(SqliteDatabase)
async def match_details(db: SqliteDatabase, paper_ids: Sequence[int]) -> dict[int, MatchDetails]:
    # The rows come back as one JSON array in a single row: the sqlite3 module lets go of the GIL
    # around every step, and while a title search holds it in another thread each step waited a
    # whole switch interval to get it back, on the connection's thread that every other query
    # then queued behind. In one hop to the connection's thread (`fetchone` makes three: execute,
    # fetch, close): the event loop answers each hop only between the autocomplete searches that
    # run on it, so hops cost more than the SQL.
    rows = await db.conn.execute_fetchall(
        "SELECT json_group_array(json_array(id, title, arxiv_id, published, listings, upvotes)) FROM ("
        " SELECT p.id, p.title, p.arxiv_id, p.published, COUNT(e.paper_id) AS listings,"
        " COALESCE(MAX(e.upvotes), 0) AS upvotes FROM papers AS p"
        " LEFT JOIN digest_entries AS e ON e.paper_id = p.id"
        " WHERE p.id IN (SELECT value FROM json_each(?)) GROUP BY p.id)",
        (json.dumps(list(paper_ids)),))
    row = next(iter(rows), None)
    found = json.loads(row[0]) if row is not None and row[0] else []
    return {int(pid): MatchDetails(title, arxiv_id, dt.date.fromisoformat(published) if published else None,
                                   int(listings), int(upvotes))
            for pid, title, arxiv_id, published, listings, upvotes in found}


@lookup.save_snapshot.register(SqliteDatabase)
async def save_snapshot(db: SqliteDatabase, parts: Mapping[str, bytes]) -> int:
    rows = snapshot_rows(parts)
    try:
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM title_snapshot")
            await conn.executemany("INSERT INTO title_snapshot(part, chunk, data) VALUES (?, ?, ?)", rows)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"the title snapshot was not written: {exc}") from exc
    return sum(len(r[2]) for r in rows)


@lookup.load_snapshot.register(SqliteDatabase)
async def load_snapshot(db: SqliteDatabase) -> dict[str, bytes] | None:
    return snapshot_parts(await db.fetchall("SELECT part, chunk, data FROM title_snapshot ORDER BY part, chunk"))
