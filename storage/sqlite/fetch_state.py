"""storage/fetch_state.py on SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Mapping

from storage import fetch_state
from storage.db import iso, parse_iso
from storage.fetch_state import SourceStatus, Validator
from storage.sqlite.db import SqliteDatabase


def _moment(text: str | None) -> dt.datetime | None:
    return parse_iso(text) if text else None


@fetch_state.get_validator.register(SqliteDatabase)
async def get_validator(db: SqliteDatabase, url: str) -> Validator | None:
    row = await db.fetchone("SELECT etag, last_modified, items FROM fetch_validators WHERE url = ?", (url,))
    return Validator(row["etag"], row["last_modified"], row["items"]) if row else None


@fetch_state.save_validators.register(SqliteDatabase)
async def save_validators(db: SqliteDatabase, validators: Mapping[str, Validator], now: dt.datetime) -> None:
    if not validators:
        return
    stamp = iso(now)
    async with db.transaction() as conn:
        for url, v in validators.items():
            if v.etag is None and v.last_modified is None:
                await conn.execute("DELETE FROM fetch_validators WHERE url = ?", (url,))
                continue
            await conn.execute(
                "INSERT INTO fetch_validators (url, etag, last_modified, items, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,"
                " items = excluded.items, updated_at = excluded.updated_at",
                (url, v.etag, v.last_modified, v.items, stamp))


def _status(row: sqlite3.Row) -> SourceStatus:
    return SourceStatus(
        source=row["source"],
        last_attempt_at=_moment(row["last_attempt_at"]),
        last_success_at=_moment(row["last_success_at"]),
        last_failure_at=_moment(row["last_failure_at"]),
        last_outcome=row["last_outcome"],
        last_error=row["last_error"],
        consecutive_failures=int(row["consecutive_failures"]),
        backoff_until=_moment(row["backoff_until"]),
        last_date=dt.date.fromisoformat(row["last_date"]) if row["last_date"] else None,
    )


@fetch_state.get_status.register(SqliteDatabase)
async def get_status(db: SqliteDatabase, source: str) -> SourceStatus:
    row = await db.fetchone("SELECT * FROM fetch_sources WHERE source = ?", (source,))
    return _status(row) if row else SourceStatus(source)


@fetch_state.source_status.register(SqliteDatabase)
async def source_status(db: SqliteDatabase, configured: Iterable[str] = ()) -> list[SourceStatus]:
    rows = await db.fetchall("SELECT * FROM fetch_sources")
    stored = await db.fetchall("SELECT source, COUNT(*) AS n, MAX(date) AS newest FROM digests"
                               " WHERE paper_count > 0 GROUP BY source")
    return fetch_state.listing(map(_status, rows), configured,
                               [(r["source"], int(r["n"]), dt.date.fromisoformat(r["newest"])) for r in stored])


@fetch_state.record_success.register(SqliteDatabase)
async def record_success(db: SqliteDatabase, source: str, now: dt.datetime, outcome: str,
                         loaded_date: dt.date | None = None) -> None:
    stamp = iso(now)
    day = loaded_date.isoformat() if loaded_date else None
    await db.execute(
        "INSERT INTO fetch_sources (source, last_attempt_at, last_success_at, last_outcome, last_date)"
        " VALUES (:source, :now, :now, :outcome, :day)"
        " ON CONFLICT (source) DO UPDATE SET last_attempt_at = :now, last_success_at = :now,"
        " last_outcome = :outcome, consecutive_failures = 0, backoff_until = NULL,"
        " last_date = CASE WHEN :day IS NOT NULL AND (last_date IS NULL OR :day > last_date)"
        "             THEN :day ELSE last_date END",
        {"source": source, "now": stamp, "outcome": outcome, "day": day})


@fetch_state.record_failure.register(SqliteDatabase)
async def record_failure(db: SqliteDatabase, source: str, now: dt.datetime, error: str,
                         backoff: Callable[[int], dt.timedelta]) -> SourceStatus:
    async with db.transaction() as conn:
        async with conn.execute("SELECT consecutive_failures FROM fetch_sources WHERE source = ?",
                                (source,)) as cursor:
            row = await cursor.fetchone()
        failures = (int(row[0]) if row else 0) + 1
        stamp = iso(now)
        await conn.execute(
            "INSERT INTO fetch_sources (source, last_attempt_at, last_failure_at, last_outcome, last_error,"
            " consecutive_failures, backoff_until) VALUES (:source, :now, :now, 'failed', :error, :n, :until)"
            " ON CONFLICT (source) DO UPDATE SET last_attempt_at = :now, last_failure_at = :now,"
            " last_outcome = 'failed', last_error = :error, consecutive_failures = :n, backoff_until = :until",
            {"source": source, "now": stamp, "error": error, "n": failures, "until": iso(now + backoff(failures))})
    return await get_status(db, source)


@fetch_state.mark_day.register(SqliteDatabase)
async def mark_day(db: SqliteDatabase, source: str, day: dt.date, status: str, now: dt.datetime, *,
                   papers: int = 0, error: str | None = None) -> None:
    await db.execute(
        "INSERT INTO fetch_days (source, date, status, papers, attempts, error, updated_at)"
        " VALUES (:source, :day, :status, :papers, 1, :error, :now)"
        " ON CONFLICT (source, date) DO UPDATE SET attempts = attempts + 1, updated_at = :now,"
        " status = CASE WHEN :status = 'failed' AND status IN ('loaded', 'empty') THEN status ELSE :status END,"
        " papers = CASE WHEN :status = 'failed' THEN papers ELSE :papers END,"
        " error = :error",
        {"source": source, "day": day.isoformat(), "status": status, "papers": papers, "error": error,
         "now": iso(now)})


@fetch_state.day_statuses.register(SqliteDatabase)
async def day_statuses(db: SqliteDatabase, source: str, since: dt.date, until: dt.date) -> dict[dt.date, str]:
    rows = await db.fetchall("SELECT date, status FROM fetch_days WHERE source = ? AND date BETWEEN ? AND ?",
                             (source, since.isoformat(), until.isoformat()))
    return {dt.date.fromisoformat(row["date"]): row["status"] for row in rows}
