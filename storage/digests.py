"""Reading digests back: the list, one digest's entries, the latest day.

The SQL: storage/sqlite/digests.py, storage/postgres/digests.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from storage.db import Database, parse_iso
from storage.dispatch import per_backend
from storage.papers import Row, as_date, paper_from_row
from storage.records import DigestEntry, DigestInfo

DIGEST_COLUMNS = "id, source, date, format, paper_count, fetched_at, updated_at"


def _moment(value: Any) -> dt.datetime:
    """A time column's value: SQLite returns ISO text, PostgreSQL a timestamptz."""
    return parse_iso(value) if isinstance(value, str) else value  # type: ignore[no-any-return]


def digest_from_row(row: Row) -> DigestInfo:
    """A digest from a row of DIGEST_COLUMNS, read by either backend."""
    day = as_date(row["date"])
    assert day is not None
    return DigestInfo(
        id=int(row["id"]), source=row["source"], date=day, format=row["format"],
        papers=row["paper_count"], fetched_at=_moment(row["fetched_at"]), updated_at=_moment(row["updated_at"]),
    )


def entries_from_rows(rows: Iterable[Row]) -> list[DigestEntry]:
    """Digest entries from rows of position, upvotes, comments and PAPER_COLUMNS."""
    return [DigestEntry(paper_from_row(r), r["position"], r["upvotes"], r["comments"]) for r in rows]


@per_backend
async def list_digests(db: Database, *, source: str | None = None, limit: int | None = None,
                       archive_imports: bool = True) -> list[DigestInfo]:
    """Newest first (then by source). `archive_imports=False` leaves out the days of archive
    imports (DigestInfo.kind)."""
    raise NotImplementedError


@per_backend
async def count_archive_days(db: Database, *, source: str | None = None) -> int:
    """How many stored digests are days of archive imports."""
    raise NotImplementedError


@per_backend
async def get_digest(db: Database, digest_id: int) -> DigestInfo | None:
    """The digest with this id, or None."""
    raise NotImplementedError


@per_backend
async def find_digest(db: Database, *, date: dt.date | None = None, source: str | None = None,
                      empty: bool = False) -> DigestInfo | None:
    """The digest of `date` (latest when None) from `source` (when None: the day's largest daily
    digest, as a daily post shows it, before an archive import's day such as the arXiv
    snapshot's; ties by source name).

    An empty day (a digest listing no papers: a weekend, an empty feed) is a digest like any other
    and `empty=True` finds it; by default only digests with papers count (what gets posted)."""
    raise NotImplementedError


@per_backend
async def digest_entries(db: Database, digest_id: int) -> list[DigestEntry]:
    """The digest's papers in their listed order."""
    raise NotImplementedError


@per_backend
async def papers_seen_before(db: Database, digest: DigestInfo) -> int:
    """How many of a digest's papers were already listed in an earlier digest."""
    raise NotImplementedError


@per_backend
async def archive_version(db: Database) -> tuple[int, str, int]:
    """A stamp that moves whenever a load changes the archive: how many digests, the latest
    digest write, the highest paper id. What is derived from the whole archive (a summary's
    themes and "new" counts) stays valid while it holds."""
    raise NotImplementedError
