"""The archive's calendar (months, days, neighbouring days), the same on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import archive_calendar
from storage.archive_calendar import DigestDay, MonthCount
from storage.db import Database
from storage.postgres.db import PostgresDatabase

pytestmark = pytest.mark.both_backends

_AT = dt.datetime(2025, 9, 10, 6, 0, tzinfo=dt.UTC)


async def _digest(db: Database, source: str, day: dt.date, fmt: str, papers: int) -> None:
    """A digest row written directly (the calendar reads the digests table alone; the loader is
    ported to PostgreSQL separately)."""
    if isinstance(db, PostgresDatabase):
        await db.execute("INSERT INTO digests (source, date, format, paper_count, fetched_at, updated_at)"
                         " VALUES ($1, $2, $3, $4, $5, $5)", (source, day, fmt, papers, _AT))
    else:
        await db.execute("INSERT INTO digests (source, date, format, paper_count, fetched_at, updated_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (source, day.isoformat(), fmt, papers,
                                                        "2025-09-10T06:00:00Z", "2025-09-10T06:00:00Z"))


async def _archive(db: Database) -> None:
    await _digest(db, "hf-daily", dt.date(2025, 8, 29), "hf-api", 2)
    await _digest(db, "hf-daily", dt.date(2025, 9, 8), "hf-api", 3)
    await _digest(db, "arxiv-rss:cs.LG", dt.date(2025, 9, 8), "arxiv-rss", 1)
    await _digest(db, "hf-daily", dt.date(2025, 9, 6), "hf-api", 0)  # an empty day
    await _digest(db, "hf-daily", dt.date(2025, 9, 10), "hf-api", 1)
    # An archive import's day: left out unless asked for.
    await _digest(db, "arxiv-snapshot", dt.date(2025, 9, 9), "arxiv-snapshot", 1)


async def test_months_newest_first_with_their_counts(db: Database) -> None:
    await _archive(db)
    assert await archive_calendar.digest_months(db) == [MonthCount(2025, 9, 3, 4, 5), MonthCount(2025, 8, 1, 1, 2)]
    with_imports = await archive_calendar.digest_months(db, archive_imports=True)
    assert with_imports[0] == MonthCount(2025, 9, 4, 5, 6)
    assert with_imports[0].first_day == dt.date(2025, 9, 1)


async def test_days_in_a_range_by_date_then_source(db: Database) -> None:
    await _archive(db)
    days = await archive_calendar.digest_days(db, dt.date(2025, 9, 1), dt.date(2025, 9, 30))
    assert days == [DigestDay(dt.date(2025, 9, 6), "hf-daily", 0),
                    DigestDay(dt.date(2025, 9, 8), "arxiv-rss:cs.LG", 1),
                    DigestDay(dt.date(2025, 9, 8), "hf-daily", 3),
                    DigestDay(dt.date(2025, 9, 10), "hf-daily", 1)]
    assert await archive_calendar.digest_days(db, dt.date(2025, 9, 8), dt.date(2025, 9, 8)) == days[1:3]
    assert await archive_calendar.digest_days(db, dt.date(2024, 1, 1), dt.date(2024, 12, 31)) == []
    both = await archive_calendar.digest_days(db, dt.date(2025, 9, 9), dt.date(2025, 9, 9), archive_imports=True)
    assert both == [DigestDay(dt.date(2025, 9, 9), "arxiv-snapshot", 1)]


async def test_adjacent_days_skip_empty_days_and_archive_imports(db: Database) -> None:
    assert await archive_calendar.adjacent_days(db, dt.date(2025, 9, 8)) == (None, None)
    await _archive(db)
    assert await archive_calendar.adjacent_days(db, dt.date(2025, 9, 8)) == (dt.date(2025, 8, 29),
                                                                               dt.date(2025, 9, 10))
    assert await archive_calendar.adjacent_days(db, dt.date(2025, 9, 10)) == (dt.date(2025, 9, 8), None)
    assert await archive_calendar.adjacent_days(db, dt.date(2025, 8, 29)) == (None, dt.date(2025, 9, 8))
    assert await archive_calendar.adjacent_days(db, dt.date(2025, 9, 8), archive_imports=True) == (
        dt.date(2025, 8, 29), dt.date(2025, 9, 9))
