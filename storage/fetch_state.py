"""What the fetcher remembers between polls: HTTP validators per URL, each source's health
(successes, failures, back-off) and which (source, day) digests are done.

The poller and `paperboy fetch` write here; `paperboy sources` and `/status` read `source_status`.
Validators are saved only after the body they came with was loaded, so a 304 never hides a digest
that failed to load. The SQL: storage/sqlite/fetch_state.py, storage/postgres/fetch_state.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend

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


def listing(polled: Iterable[SourceStatus], configured: Iterable[str],
            stored: Iterable[tuple[str, int, dt.date]]) -> list[SourceStatus]:
    """`source_status` from what each backend read: the polled sources, plus the configured ones
    never tried, each with (source, digests, newest day) of what the archive holds, by name."""
    found = {status.source: status for status in polled}
    for name in configured:
        found.setdefault(name, SourceStatus(name))
    for source, digests, newest in stored:
        if source in found:
            found[source] = dataclasses.replace(found[source], stored_digests=digests, stored_newest=newest)
    return [found[name] for name in sorted(found)]


# -- validators --------------------------------------------------------------------------------

@per_backend
async def get_validator(db: Database, url: str) -> Validator | None:
    raise NotImplementedError


@per_backend
async def save_validators(db: Database, validators: Mapping[str, Validator], now: dt.datetime) -> None:
    """Remember the validators of bodies that were loaded (a URL without any is forgotten)."""
    raise NotImplementedError


# -- source health -----------------------------------------------------------------------------

@per_backend
async def get_status(db: Database, source: str) -> SourceStatus:
    raise NotImplementedError


@per_backend
async def source_status(db: Database, configured: Iterable[str] = ()) -> list[SourceStatus]:
    """Every source ever fetched, plus `configured` ones never tried yet, by name."""
    raise NotImplementedError


@per_backend
async def record_success(db: Database, source: str, now: dt.datetime, outcome: str,
                         loaded_date: dt.date | None = None) -> None:
    """A poll that worked (even one that found nothing new): failures and back-off are cleared."""
    raise NotImplementedError


@per_backend
async def record_failure(db: Database, source: str, now: dt.datetime, error: str,
                         backoff: Callable[[int], dt.timedelta]) -> SourceStatus:
    """Count a failed poll; `backoff(failures in a row)` says how long the poller leaves it alone."""
    raise NotImplementedError


# -- days ----------------------------------------------------------------------------------------

@per_backend
async def mark_day(db: Database, source: str, day: dt.date, status: str, now: dt.datetime, *,
                   papers: int = 0, error: str | None = None) -> None:
    """Record how fetching `source`'s digest of `day` went ('loaded', 'empty' or 'failed').
    A failure never overwrites a day already done."""
    raise NotImplementedError


@per_backend
async def day_statuses(db: Database, source: str, since: dt.date, until: dt.date) -> dict[dt.date, str]:
    """The recorded status of each of `source`'s days in [since, until]."""
    raise NotImplementedError
