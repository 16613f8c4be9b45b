"""Reading digests back: the list, one digest's entries, the latest day."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable

from storage.db import Database, parse_iso
from storage.papers import PAPER_COLUMNS, paper_from_row
from storage.records import ARCHIVE_FORMATS, DigestEntry, DigestInfo

_DIGEST_COLUMNS = "id, source, date, format, paper_count, fetched_at, updated_at"


def _digest_from_row(row: sqlite3.Row) -> DigestInfo:
    return DigestInfo(
        id=row["id"], source=row["source"], date=dt.date.fromisoformat(row["date"]), format=row["format"],
        papers=row["paper_count"], fetched_at=parse_iso(row["fetched_at"]), updated_at=parse_iso(row["updated_at"]),
    )


async def list_digests(db: Database, *, source: str | None = None, limit: int | None = None,
                       archive_imports: bool = True) -> list[DigestInfo]:
    """Newest first. `archive_imports=False` leaves out the days of archive imports (DigestInfo.kind)."""
    excluded = () if archive_imports else ARCHIVE_FORMATS
    rows = await db.fetchall(
        f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE (? IS NULL OR source = ?)"  # noqa: S608
        " AND format NOT IN (SELECT value FROM json_each(?))"
        " ORDER BY date DESC, source LIMIT ?",
        (source, source, json.dumps(excluded), -1 if limit is None else limit),
    )
    return [_digest_from_row(r) for r in rows]


async def count_archive_days(db: Database, *, source: str | None = None) -> int:
    """How many stored digests are days of archive imports."""
    row = await db.fetchone(
        "SELECT COUNT(*) FROM digests WHERE (? IS NULL OR source = ?)"
        " AND format IN (SELECT value FROM json_each(?))", (source, source, json.dumps(ARCHIVE_FORMATS)))
    return int(row[0]) if row else 0


async def get_digest(db: Database, digest_id: int) -> DigestInfo | None:
    row = await db.fetchone(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE id = ?", (digest_id,))  # noqa: S608
    return _digest_from_row(row) if row else None


async def find_digest(db: Database, *, date: dt.date | None = None, source: str | None = None,
                      empty: bool = False) -> DigestInfo | None:
    """The digest of `date` (latest when None) from `source` (the largest that day when None).

    An empty day (a digest listing no papers: a weekend, an empty feed) is a digest like any other
    and `empty=True` finds it; by default only digests with papers count (what gets posted)."""
    row = await db.fetchone(
        f"SELECT {_DIGEST_COLUMNS} FROM digests"  # noqa: S608
        " WHERE (? IS NULL OR date = ?) AND (? IS NULL OR source = ?) AND (? OR paper_count > 0)"
        " ORDER BY date DESC, paper_count DESC, source LIMIT 1",
        (date and date.isoformat(), date and date.isoformat(), source, source, empty),
    )
    return _digest_from_row(row) if row else None


async def digest_entries(db: Database, digest_id: int) -> list[DigestEntry]:
    rows = await db.fetchall(
        f"SELECT e.position, e.upvotes, e.comments, {', '.join('p.' + c.strip() for c in PAPER_COLUMNS.split(','))}"  # noqa: S608
        " FROM digest_entries AS e JOIN papers AS p ON p.id = e.paper_id"
        " WHERE e.digest_id = ? ORDER BY e.position",
        (digest_id,),
    )
    # A digest can list tens of thousands of papers: building them in a worker thread keeps the
    # event loop free meanwhile.
    return await asyncio.to_thread(_entries_from_rows, rows)


def _entries_from_rows(rows: Iterable[sqlite3.Row]) -> list[DigestEntry]:
    return [DigestEntry(paper_from_row(r), r["position"], r["upvotes"], r["comments"]) for r in rows]


async def papers_seen_before(db: Database, digest: DigestInfo) -> int:
    """How many of a digest's papers were already listed in an earlier digest."""
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM digest_entries AS e JOIN papers AS p ON p.id = e.paper_id"
        " WHERE e.digest_id = ? AND p.first_listed < ?",
        (digest.id, digest.date.isoformat()),
    )
    return int(row["n"]) if row else 0


async def archive_version(db: Database) -> tuple[int, str, int]:
    """A stamp that moves whenever a load changes the archive: how many digests, the latest
    digest write, the highest paper id. What is derived from the whole archive (a summary's
    themes and "new" counts) stays valid while it holds."""
    row = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM digests) AS digests, (SELECT COALESCE(MAX(updated_at), '') FROM digests) AS at,"
        " (SELECT COALESCE(MAX(id), 0) FROM papers) AS papers")
    return (int(row["digests"]), str(row["at"]), int(row["papers"])) if row else (0, "", 0)
