"""Rows written with plain SQL in each backend's dialect, for tests whose setup would otherwise
go through a repository they do not test (a digest for the post log to name, for /status)."""

from __future__ import annotations

import datetime as dt

from storage.db import Database, iso
from storage.postgres.db import PostgresDatabase

AT = dt.datetime(2025, 9, 10, 6, tzinfo=dt.UTC)


async def insert_digest(db: Database, source: str, day: dt.date, *, papers: int = 1) -> int:
    """A digest row (no papers behind it) holding `papers` papers; its id."""
    if isinstance(db, PostgresDatabase):
        row = await db.fetchone("INSERT INTO digests (source, date, format, paper_count, fetched_at, updated_at)"
                                " VALUES ($1, $2, 'test', $3, $4, $4) RETURNING id", (source, day, papers, AT))
    else:
        row = await db.fetchone("INSERT INTO digests (source, date, format, paper_count, fetched_at, updated_at)"
                                " VALUES (?, ?, 'test', ?, ?, ?) RETURNING id",
                                (source, day.isoformat(), papers, iso(AT), iso(AT)))
    assert row is not None
    return int(row["id"])
