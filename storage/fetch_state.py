"""What the fetcher remembers between polls: HTTP validators per URL, each source's health
(successes, failures, back-off) and which (source, day) digests are done.

The poller and `paperboy fetch` write here; `paperboy sources` and `/status` read `source_status`.
Validators are saved only after the body they came with was loaded, so a 304 never hides a digest
that failed to load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from storage.db import Database, iso, parse_iso

# A source's day is done when its digest was loaded, or when the source had nothing that day.
DONE = ("loaded", "empty")


@dataclass(slots=True, frozen=True)
class Validator:
    """How to ask "has it changed?" about a URL, and what the body said when it was saved."""

    etag: str | None = None
    last_modified: str | None = None
    items: int | None = None  # items in that body (pages answered 304 still need their length)


@dataclass(slots=True, frozen=True)
class SourceStatus:
    source: str
    last_attempt_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_failure_at: dt.datetime | None = None
    last_outcome: str | None = None  # loaded, unchanged, empty, not-yet, failed
    last_error: str | None = None
    consecutive_failures: int = 0
    backoff_until: dt.datetime | None = None
    last_date: dt.date | None = None  # the newest digest day loaded from the source by fetching
    # What the archive holds from the source however it came (fetched, `paperboy ingest`, /ingest).
    stored_digests: int = 0
    stored_newest: dt.date | None = None

    @property
    def newest_digest(self) -> dt.date | None:
        return max((d for d in (self.last_date, self.stored_newest) if d), default=None)

    def backing_off(self, now: dt.datetime) -> bool:
        return self.backoff_until is not None and now < self.backoff_until


def _moment(text: str | None) -> dt.datetime | None:
    return parse_iso(text) if text else None


# -- validators --------------------------------------------------------------------------------

async def get_validator(db: Database, url: str) -> Validator | None:
    row = await db.fetchone("SELECT etag, last_modified, items FROM fetch_validators WHERE url = ?", (url,))
    return Validator(row["etag"], row["last_modified"], row["items"]) if row else None


async def save_validators(db: Database, validators: Mapping[str, Validator], now: dt.datetime) -> None:
    """Remember the validators of bodies that were loaded (a URL without any is forgotten)."""
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


# -- source health -----------------------------------------------------------------------------

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


async def get_status(db: Database, source: str) -> SourceStatus:
    row = await db.fetchone("SELECT * FROM fetch_sources WHERE source = ?", (source,))
    return _status(row) if row else SourceStatus(source)


async def source_status(db: Database, configured: Iterable[str] = ()) -> list[SourceStatus]:
    """Every source ever fetched, plus `configured` ones never tried yet, by name."""
    rows = await db.fetchall("SELECT * FROM fetch_sources")
    found = {row["source"]: _status(row) for row in rows}
    for name in configured:
        found.setdefault(name, SourceStatus(name))
    stored = await db.fetchall("SELECT source, COUNT(*) AS n, MAX(date) AS newest FROM digests"
                               " WHERE paper_count > 0 GROUP BY source")
    for row in stored:
        if row["source"] in found:
            found[row["source"]] = dataclasses.replace(found[row["source"]], stored_digests=row["n"],
                                                       stored_newest=dt.date.fromisoformat(row["newest"]))
    return [found[name] for name in sorted(found)]


async def record_success(db: Database, source: str, now: dt.datetime, outcome: str,
                         loaded_date: dt.date | None = None) -> None:
    """A poll that worked (even one that found nothing new): failures and back-off are cleared."""
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


async def record_failure(db: Database, source: str, now: dt.datetime, error: str,
                         backoff: Callable[[int], dt.timedelta]) -> SourceStatus:
    """Count a failed poll; `backoff(failures in a row)` says how long the poller leaves it alone."""
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


# -- days ----------------------------------------------------------------------------------------

async def mark_day(db: Database, source: str, day: dt.date, status: str, now: dt.datetime, *,
                   papers: int = 0, error: str | None = None) -> None:
    """Record how fetching `source`'s digest of `day` went ('loaded', 'empty' or 'failed').
    A failure never overwrites a day already done."""
    await db.execute(
        "INSERT INTO fetch_days (source, date, status, papers, attempts, error, updated_at)"
        " VALUES (:source, :day, :status, :papers, 1, :error, :now)"
        " ON CONFLICT (source, date) DO UPDATE SET attempts = attempts + 1, updated_at = :now,"
        " status = CASE WHEN :status = 'failed' AND status IN ('loaded', 'empty') THEN status ELSE :status END,"
        " papers = CASE WHEN :status = 'failed' THEN papers ELSE :papers END,"
        " error = :error",
        {"source": source, "day": day.isoformat(), "status": status, "papers": papers, "error": error,
         "now": iso(now)})


async def day_statuses(db: Database, source: str, since: dt.date, until: dt.date) -> dict[dt.date, str]:
    """The recorded status of each of `source`'s days in [since, until]."""
    rows = await db.fetchall("SELECT date, status FROM fetch_days WHERE source = ? AND date BETWEEN ? AND ?",
                             (source, since.isoformat(), until.isoformat()))
    return {dt.date.fromisoformat(row["date"]): row["status"] for row in rows}
