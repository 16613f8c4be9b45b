"""storage/archive_calendar.py on SQLite (dates are ISO text, so text order is date order)."""

from __future__ import annotations

import datetime as dt
import json

from storage import archive_calendar
from storage.archive_calendar import DigestDay, MonthCount
from storage.records import ARCHIVE_FORMATS
from storage.sqlite.db import SqliteDatabase


def _excluded(archive_imports: bool) -> str:
    return json.dumps([] if archive_imports else list(ARCHIVE_FORMATS))


@archive_calendar.digest_months.register(SqliteDatabase)
async def digest_months(db: SqliteDatabase, *, archive_imports: bool = False) -> list[MonthCount]:
    rows = await db.fetchall(
        "SELECT substr(date, 1, 7) AS month, COUNT(DISTINCT date) AS days, COUNT(*) AS digests,"
        " COALESCE(SUM(paper_count), 0) AS papers FROM digests"
        " WHERE format NOT IN (SELECT value FROM json_each(?)) GROUP BY month ORDER BY month DESC",
        (_excluded(archive_imports),))
    return [MonthCount(int(r["month"][:4]), int(r["month"][5:7]), r["days"], r["digests"], r["papers"])
            for r in rows]


@archive_calendar.digest_days.register(SqliteDatabase)
async def digest_days(db: SqliteDatabase, first: dt.date, last: dt.date, *,
                      archive_imports: bool = False) -> list[DigestDay]:
    rows = await db.fetchall(
        "SELECT date, source, paper_count FROM digests WHERE date BETWEEN ? AND ?"
        " AND format NOT IN (SELECT value FROM json_each(?)) ORDER BY date, source",
        (first.isoformat(), last.isoformat(), _excluded(archive_imports)))
    return [DigestDay(dt.date.fromisoformat(r["date"]), r["source"], r["paper_count"]) for r in rows]


@archive_calendar.adjacent_days.register(SqliteDatabase)
async def adjacent_days(db: SqliteDatabase, day: dt.date, *,
                        archive_imports: bool = False) -> tuple[dt.date | None, dt.date | None]:
    excluded = _excluded(archive_imports)
    row = await db.fetchone(
        "SELECT (SELECT MAX(date) FROM digests WHERE date < :day AND paper_count > 0"
        "        AND format NOT IN (SELECT value FROM json_each(:excluded))) AS before,"
        " (SELECT MIN(date) FROM digests WHERE date > :day AND paper_count > 0"
        "        AND format NOT IN (SELECT value FROM json_each(:excluded))) AS after",
        {"day": day.isoformat(), "excluded": excluded})
    if row is None:
        return None, None
    return (dt.date.fromisoformat(row["before"]) if row["before"] else None,
            dt.date.fromisoformat(row["after"]) if row["after"] else None)
