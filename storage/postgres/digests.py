"""storage/digests.py on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

from storage import digests
from storage.db import iso
from storage.digests import DIGEST_COLUMNS, digest_from_row, entries_from_rows
from storage.papers import PAPER_COLUMNS
from storage.postgres.db import PostgresDatabase
from storage.records import ARCHIVE_FORMATS, DigestEntry, DigestInfo


@digests.list_digests.register(PostgresDatabase)
async def list_digests(db: PostgresDatabase, *, source: str | None = None, limit: int | None = None,
                       archive_imports: bool = True) -> list[DigestInfo]:
    excluded = [] if archive_imports else list(ARCHIVE_FORMATS)
    rows = await db.fetchall(
        f"SELECT {DIGEST_COLUMNS} FROM digests WHERE ($1::text IS NULL OR source = $1)"  # noqa: S608
        " AND format <> ALL($2::text[])"
        ' ORDER BY date DESC, source COLLATE "C" LIMIT $3',
        (source, excluded, limit),
    )
    return [digest_from_row(r) for r in rows]


@digests.count_archive_days.register(PostgresDatabase)
async def count_archive_days(db: PostgresDatabase, *, source: str | None = None) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM digests WHERE ($1::text IS NULL OR source = $1) AND format = ANY($2::text[])",
        (source, list(ARCHIVE_FORMATS)))
    return int(row[0]) if row else 0


@digests.get_digest.register(PostgresDatabase)
async def get_digest(db: PostgresDatabase, digest_id: int) -> DigestInfo | None:
    row = await db.fetchone(f"SELECT {DIGEST_COLUMNS} FROM digests WHERE id = $1", (digest_id,))  # noqa: S608
    return digest_from_row(row) if row else None


@digests.find_digest.register(PostgresDatabase)
async def find_digest(db: PostgresDatabase, *, date: dt.date | None = None, source: str | None = None,
                      empty: bool = False) -> DigestInfo | None:
    row = await db.fetchone(
        f"SELECT {DIGEST_COLUMNS} FROM digests"  # noqa: S608
        " WHERE ($1::date IS NULL OR date = $1) AND ($2::text IS NULL OR source = $2) AND ($3 OR paper_count > 0)"
        ' ORDER BY date DESC, format = ANY($4::text[]), paper_count DESC, source COLLATE "C" LIMIT 1',
        (date, source, empty, list(ARCHIVE_FORMATS)),
    )
    return digest_from_row(row) if row else None


@digests.digest_entries.register(PostgresDatabase)
async def digest_entries(db: PostgresDatabase, digest_id: int) -> list[DigestEntry]:
    rows = await db.fetchall(
        f"SELECT e.position, e.upvotes, e.comments, {', '.join('p.' + c.strip() for c in PAPER_COLUMNS.split(','))}"  # noqa: S608
        " FROM digest_entries AS e JOIN papers AS p ON p.id = e.paper_id"
        " WHERE e.digest_id = $1 ORDER BY e.position",
        (digest_id,),
    )
    # A digest can list tens of thousands of papers: building them in a worker thread keeps the
    # event loop free meanwhile.
    return await asyncio.to_thread(entries_from_rows, rows)


@digests.papers_seen_before.register(PostgresDatabase)
async def papers_seen_before(db: PostgresDatabase, digest: DigestInfo) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) AS n FROM digest_entries AS e JOIN papers AS p ON p.id = e.paper_id"
        " WHERE e.digest_id = $1 AND p.first_listed < $2",
        (digest.id, digest.date),
    )
    return int(row["n"]) if row else 0


@digests.archive_version.register(PostgresDatabase)
async def archive_version(db: PostgresDatabase) -> tuple[int, str, int]:
    row = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM digests) AS digests, (SELECT MAX(updated_at) FROM digests) AS at,"
        " (SELECT COALESCE(MAX(id), 0) FROM papers) AS papers")
    if row is None:
        return (0, "", 0)
    return int(row["digests"]), iso(row["at"]) if row["at"] else "", int(row["papers"])
