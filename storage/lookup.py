"""What the title look-up reads and keeps in the archive (the in-memory index is `bot/lookup/`).

- the titles to index: papers above an id, or named by id (`TitleRow`);
- the title-change log that the triggers of migration 0003 fill when a title changes or a paper goes,
  so an index kept in memory can catch up by polling, whichever process wrote;
- the index snapshot: named byte strings stored in `title_snapshot`, replaced in one transaction;
- what a hit shows beyond the index (`MatchDetails`, `paper_dates`).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from storage.db import Database

SNAPSHOT_CHUNK_BYTES = 16 << 20  # one blob per 16 MiB of a part: SQLite's default blob limit is 1 GB


@dataclass(frozen=True, slots=True)
class TitleRow:
    """What the index needs of one paper."""

    paper_id: int
    title: str
    first_listed: dt.date | None


@dataclass(frozen=True, slots=True)
class MatchDetails:
    """What a look-up hit shows of a paper beyond the index, and what breaks ties between hits."""

    title: str
    arxiv_id: str | None
    published: dt.date | None
    listings: int  # digests that listed it
    upvotes: int  # most upvotes it got in one


def _title_row(row: sqlite3.Row) -> TitleRow:
    listed = row["first_listed"]
    return TitleRow(int(row["id"]), row["title"], dt.date.fromisoformat(listed) if listed else None)


async def titles_after(db: Database, paper_id: int, limit: int) -> list[TitleRow]:
    """Up to `limit` papers with an id above `paper_id`, in id order."""
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id > ? ORDER BY id LIMIT ?", (paper_id, limit))
    return [_title_row(r) for r in rows]


async def titles_by_id(db: Database, paper_ids: Sequence[int]) -> list[TitleRow]:
    """The papers asked for that exist, in id order."""
    if not paper_ids:
        return []
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(list(paper_ids)),))
    return [_title_row(r) for r in rows]


async def last_title_change(db: Database) -> int:
    """The newest title-change sequence number (0: none yet)."""
    row = await db.fetchone("SELECT COALESCE(MAX(seq), 0) FROM title_changes")
    return int(row[0]) if row else 0


async def oldest_title_change(db: Database) -> int:
    """The oldest title-change sequence number still logged (0: the log is empty)."""
    row = await db.fetchone("SELECT COALESCE(MIN(seq), 0) FROM title_changes")
    return int(row[0]) if row else 0


async def title_changes_after(db: Database, seq: int) -> list[tuple[int, int]]:
    """(sequence number, paper id) of every title change after `seq`, oldest first."""
    rows = await db.fetchall("SELECT seq, paper_id FROM title_changes WHERE seq > ? ORDER BY seq", (seq,))
    return [(int(r["seq"]), int(r["paper_id"])) for r in rows]


async def prune_title_changes(db: Database, through: int) -> None:
    """Forget the title changes up to sequence number `through`."""
    await db.execute("DELETE FROM title_changes WHERE seq <= ?", (through,))


async def paper_dates(db: Database, paper_ids: Sequence[int]) -> dict[int, tuple[dt.date | None, dt.date]]:
    """(published, first_listed) of each paper asked for."""
    rows = await db.fetchall(
        "SELECT id, published, first_listed FROM papers WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(paper_ids)),))
    return {int(r["id"]): (dt.date.fromisoformat(r["published"]) if r["published"] else None,
                           dt.date.fromisoformat(r["first_listed"])) for r in rows}


async def match_details(db: Database, paper_ids: Sequence[int]) -> dict[int, MatchDetails]:
    """`MatchDetails` of each paper asked for that exists: one query (no abstract or JSON columns),
    since a look-up runs it on every keystroke of autocomplete.

    The rows come back as one JSON array in a single row: the sqlite3 module lets go of the GIL
    around every step, and while a title search holds it in another thread each step waited a
    whole switch interval to get it back, on the connection's thread that every other query
    then queued behind."""
    # In one hop to the connection's thread (`fetchone` makes three: execute, fetch, close): the
    # event loop answers each hop only between the autocomplete searches that run on it, so hops
    # cost more than the SQL.
    rows = await db.conn.execute_fetchall(  # type: ignore[attr-defined]  # SQLite's, until #16 ports it
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


def _chunks(data: bytes) -> list[bytes]:
    return [data[i:i + SNAPSHOT_CHUNK_BYTES] for i in range(0, len(data), SNAPSHOT_CHUNK_BYTES)] or [b""]


async def save_snapshot(db: Database, parts: Mapping[str, bytes]) -> int:
    """Replace the stored snapshot with `parts`, in one transaction; returns the bytes written."""
    rows = [(name, n, chunk) for name, data in parts.items() for n, chunk in enumerate(_chunks(data))]
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM title_snapshot")
        await conn.executemany("INSERT INTO title_snapshot(part, chunk, data) VALUES (?, ?, ?)", rows)
    return sum(len(r[2]) for r in rows)


async def load_snapshot(db: Database) -> dict[str, bytes] | None:
    """The stored snapshot's parts, or None when there is none or a chunk is missing or foreign."""
    rows = await db.fetchall("SELECT part, chunk, data FROM title_snapshot ORDER BY part, chunk")
    pieces: dict[str, list[bytes]] = {}
    for row in rows:
        chunks = pieces.setdefault(row["part"], [])
        if int(row["chunk"]) != len(chunks) or not isinstance(row["data"], bytes):
            return None  # a gap or a foreign row: not a snapshot we wrote
        chunks.append(row["data"])
    return {name: b"".join(chunks) for name, chunks in pieces.items()} or None
