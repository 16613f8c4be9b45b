"""storage/archive_calendar.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from storage import archive_calendar
from storage.archive_calendar import DigestDay, MonthCount
from storage.postgres.db import PostgresDatabase
from storage.records import ARCHIVE_FORMATS


def _excluded(archive_imports: bool) -> list[str]:
    return [] if archive_imports else list(ARCHIVE_FORMATS)


@archive_calendar.digest_months.register(PostgresDatabase)
async def digest_months(db: PostgresDatabase, *, archive_imports: bool = False) -> list[MonthCount]:
    rows = await db.fetchall(
        "SELECT date_trunc('month', date)::date AS month, COUNT(DISTINCT date) AS days, COUNT(*) AS digests,"
        " COALESCE(SUM(paper_count), 0) AS papers FROM digests"
        " WHERE format <> ALL($1::text[]) GROUP BY month ORDER BY month DESC",
        (_excluded(archive_imports),))
    return [MonthCount(r["month"].year, r["month"].month, int(r["days"]), int(r["digests"]), int(r["papers"]))
            for r in rows]


@archive_calendar.digest_days.register(PostgresDatabase)
async def digest_days(db: PostgresDatabase, first: dt.date, last: dt.date, *,
                      archive_imports: bool = False) -> list[DigestDay]:
    rows = await db.fetchall(
        "SELECT date, source, paper_count FROM digests WHERE date BETWEEN $1 AND $2"
        " AND format <> ALL($3::text[]) ORDER BY date, source COLLATE \"C\"",
        (first, last, _excluded(archive_imports)))
    return [DigestDay(r["date"], r["source"], int(r["paper_count"])) for r in rows]


@archive_calendar.adjacent_days.register(PostgresDatabase)
async def adjacent_days(db: PostgresDatabase, day: dt.date, *,
                        archive_imports: bool = False) -> tuple[dt.date | None, dt.date | None]:
    row = await db.fetchone(
        "SELECT (SELECT MAX(date) FROM digests WHERE date < $1 AND paper_count > 0"
        "        AND format <> ALL($2::text[])) AS before,"
        " (SELECT MIN(date) FROM digests WHERE date > $1 AND paper_count > 0"
        "        AND format <> ALL($2::text[])) AS after",
        (day, _excluded(archive_imports)))
    if row is None:
        return None, None
    return row["before"], row["after"]
