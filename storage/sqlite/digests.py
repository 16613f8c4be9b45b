"""storage/digests.py on SQLite."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from storage import digests
from storage.digests import DIGEST_COLUMNS, digest_from_row, entries_from_rows
from storage.papers import PAPER_COLUMNS
from storage.records import ARCHIVE_FORMATS, DigestEntry, DigestInfo
from storage.sqlite.db import SqliteDatabase


@digests.list_digests.register(SqliteDatabase)
async def list_digests(db: SqliteDatabase, *, source: str | None = None, limit: int | None = None,
                       archive_imports: bool = True) -> list[DigestInfo]:
    excluded = () if archive_imports else ARCHIVE_FORMATS
    rows = await db.fetchall(
        f"SELECT {DIGEST_COLUMNS} FROM digests WHERE (? IS NULL OR source = ?)"  # noqa: S608
        " AND format NOT IN (SELECT value FROM json_each(?))"
        " ORDER BY date DESC, source LIMIT ?",
        (source, source, json.dumps(excluded), -1 if limit is None else limit),
    )
    return [digest_from_row(r) for r in rows]


@digests.count_archive_days.register(SqliteDatabase)
async def count_archive_days(db: SqliteDatabase, *, source: str | None = None) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM digests WHERE (? IS NULL OR source = ?)"
        " AND format IN (SELECT value FROM json_each(?))", (source, source, json.dumps(ARCHIVE_FORMATS)))
    return int(row[0]) if row else 0


@digests.get_digest.register(SqliteDatabase)
async def get_digest(db: SqliteDatabase, digest_id: int) -> DigestInfo | None:
    row = await db.fetchone(f"SELECT {DIGEST_COLUMNS} FROM digests WHERE id = ?", (digest_id,))  # noqa: S608
    return digest_from_row(row) if row else None


@digests.find_digest.register(SqliteDatabase)
async def find_digest(db: SqliteDatabase, *, date: dt.date | None = None, source: str | None = None,
                      empty: bool = False) -> DigestInfo | None:
    row = await db.fetchone(
        f"SELECT {DIGEST_COLUMNS} FROM digests"  # noqa: S608
        " WHERE (? IS NULL OR date = ?) AND (? IS NULL OR source = ?) AND (? OR paper_count > 0)"
        " ORDER BY date DESC, format IN (SELECT value FROM json_each(?)), paper_count DESC, source LIMIT 1",
        (date and date.isoformat(), date and date.isoformat(), source, source, empty, json.dumps(ARCHIVE_FORMATS)),
    )
    return digest_from_row(row) if row else None


@digests.digest_entries.register(SqliteDatabase)
async def digest_entries(db: SqliteDatabase, digest_id: int) -> list[DigestEntry]:
    rows = await db.fetchall(
        f"SELECT e.position, e.upvotes, e.comments, {', '.join('p.' + c.strip() for c in PAPER_COLUMNS.split(','))}"  # noqa: S608
        " FROM digest_entries AS e JOIN papers AS p ON p.id = e.paper_id"
        " WHERE e.digest_id = ? ORDER BY e.position",
        (digest_id,),
    )
    # A digest can list tens of thousands of papers: building them in a worker thread keeps the
    # event loop free meanwhile.
    return await asyncio.to_thread(entries_from_rows, rows)


@digests.papers_seen_before.register(SqliteDatabase)
async def papers_seen_before(db: SqliteDatabase, digest: DigestInfo) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM digest_entries AS e JOIN papers AS p ON p.id = e.paper_id"
        " WHERE e.digest_id = ? AND p.first_listed < ?",
        (digest.id, digest.date.isoformat()),
    )
    return int(row["n"]) if row else 0


@digests.archive_version.register(SqliteDatabase)
async def archive_version(db: SqliteDatabase) -> tuple[int, str, int]:
    row = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM digests) AS digests, (SELECT COALESCE(MAX(updated_at), '') FROM digests) AS at,"
        " (SELECT COALESCE(MAX(id), 0) FROM papers) AS papers")
    return (int(row["digests"]), str(row["at"]), int(row["papers"])) if row else (0, "", 0)
