"""storage/fetch_state.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping

import asyncpg

from storage import fetch_state
from storage.fetch_state import SourceStatus, Validator
from storage.postgres.db import PostgresDatabase, seconds


@fetch_state.get_validator.register(PostgresDatabase)
async def get_validator(db: PostgresDatabase, url: str) -> Validator | None:
    row = await db.fetchone("SELECT etag, last_modified, items FROM fetch_validators WHERE url = $1", (url,))
    return Validator(row["etag"], row["last_modified"], row["items"]) if row else None


@fetch_state.save_validators.register(PostgresDatabase)
async def save_validators(db: PostgresDatabase, validators: Mapping[str, Validator], now: dt.datetime) -> None:
    if not validators:
        return
    stamp = seconds(now)
    async with db.transaction() as conn:
        for url, v in validators.items():
            if v.etag is None and v.last_modified is None:
                await conn.execute("DELETE FROM fetch_validators WHERE url = $1", url)
                continue
            await conn.execute(
                "INSERT INTO fetch_validators (url, etag, last_modified, items, updated_at) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,"
                " items = excluded.items, updated_at = excluded.updated_at",
                url, v.etag, v.last_modified, v.items, stamp)


def _status(row: asyncpg.Record) -> SourceStatus:
    return SourceStatus(
        source=row["source"], last_attempt_at=row["last_attempt_at"], last_success_at=row["last_success_at"],
        last_failure_at=row["last_failure_at"], last_outcome=row["last_outcome"], last_error=row["last_error"],
        consecutive_failures=int(row["consecutive_failures"]), backoff_until=row["backoff_until"],
        last_date=row["last_date"],
    )


@fetch_state.get_status.register(PostgresDatabase)
async def get_status(db: PostgresDatabase, source: str) -> SourceStatus:
    row = await db.fetchone("SELECT * FROM fetch_sources WHERE source = $1", (source,))
    return _status(row) if row else SourceStatus(source)


@fetch_state.source_status.register(PostgresDatabase)
async def source_status(db: PostgresDatabase, configured: Iterable[str] = ()) -> list[SourceStatus]:
    rows = await db.fetchall("SELECT * FROM fetch_sources")
    stored = await db.fetchall("SELECT source, COUNT(*) AS n, MAX(date) AS newest FROM digests"
                               " WHERE paper_count > 0 GROUP BY source")
    return fetch_state.listing(map(_status, rows), configured,
                               [(r["source"], int(r["n"]), r["newest"]) for r in stored])


@fetch_state.record_success.register(PostgresDatabase)
async def record_success(db: PostgresDatabase, source: str, now: dt.datetime, outcome: str,
                         loaded_date: dt.date | None = None) -> None:
    await db.execute(
        "INSERT INTO fetch_sources (source, last_attempt_at, last_success_at, last_outcome, last_date)"
        " VALUES ($1, $2, $2, $3, $4)"
        " ON CONFLICT (source) DO UPDATE SET last_attempt_at = $2, last_success_at = $2,"
        " last_outcome = $3, consecutive_failures = 0, backoff_until = NULL,"
        " last_date = GREATEST(fetch_sources.last_date, $4::date)",  # GREATEST skips NULLs
        (source, seconds(now), outcome, loaded_date))


@fetch_state.record_failure.register(PostgresDatabase)
async def record_failure(db: PostgresDatabase, source: str, now: dt.datetime, error: str,
                         backoff: Callable[[int], dt.timedelta]) -> SourceStatus:
    async with db.transaction() as conn:
        # FOR UPDATE: another process failing the same source at once counts after this one.
        failures = (await conn.fetchval("SELECT consecutive_failures FROM fetch_sources WHERE source = $1"
                                        " FOR UPDATE", source) or 0) + 1
        stamp = seconds(now)
        await conn.execute(
            "INSERT INTO fetch_sources (source, last_attempt_at, last_failure_at, last_outcome, last_error,"
            " consecutive_failures, backoff_until) VALUES ($1, $2, $2, 'failed', $3, $4, $5)"
            " ON CONFLICT (source) DO UPDATE SET last_attempt_at = $2, last_failure_at = $2,"
            " last_outcome = 'failed', last_error = $3, consecutive_failures = $4, backoff_until = $5",
            source, stamp, error, failures, seconds(now + backoff(failures)))
    return await get_status(db, source)


@fetch_state.mark_day.register(PostgresDatabase)
async def mark_day(db: PostgresDatabase, source: str, day: dt.date, status: str, now: dt.datetime, *,
                   papers: int = 0, error: str | None = None) -> None:
    await db.execute(
        "INSERT INTO fetch_days (source, date, status, papers, attempts, error, updated_at)"
        " VALUES ($1, $2, $3, $4, 1, $5, $6)"
        " ON CONFLICT (source, date) DO UPDATE SET attempts = fetch_days.attempts + 1, updated_at = $6,"
        " status = CASE WHEN $3 = 'failed' AND fetch_days.status IN ('loaded', 'empty') THEN fetch_days.status"
        "          ELSE $3 END,"
        " papers = CASE WHEN $3 = 'failed' THEN fetch_days.papers ELSE $4 END,"
        " error = $5",
        (source, day, status, papers, error, seconds(now)))


@fetch_state.day_statuses.register(PostgresDatabase)
async def day_statuses(db: PostgresDatabase, source: str, since: dt.date, until: dt.date) -> dict[dt.date, str]:
    rows = await db.fetchall("SELECT date, status FROM fetch_days WHERE source = $1 AND date BETWEEN $2 AND $3",
                             (source, since, until))
    return {row["date"]: row["status"] for row in rows}
