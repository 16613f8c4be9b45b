"""The archive's calendar: which days have digests, month by month (the web archive's /digests).

Daily digests only by default: an archive import (storage.records.ARCHIVE_FORMATS) files its papers
under thousands of first-version days that no source announced, which is not what a day brought.
The SQL: storage/sqlite/archive_calendar.py, storage/postgres/archive_calendar.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend


@dataclass(frozen=True, slots=True)
class MonthCount:
    """One month of the archive: how many days have a digest, how many digests and listings."""

    year: int
    month: int
    days: int
    digests: int
    papers: int

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)


@dataclass(frozen=True, slots=True)
class DigestDay:
    """One stored digest as the calendar shows it."""

    date: dt.date
    source: str
    papers: int


@per_backend
async def digest_months(db: Database, *, archive_imports: bool = False) -> list[MonthCount]:
    """Every month with a digest, newest first."""
    raise NotImplementedError


@per_backend
async def digest_days(db: Database, first: dt.date, last: dt.date, *,
                      archive_imports: bool = False) -> list[DigestDay]:
    """The digests dated `first` to `last` (both included), by date then source (compared as text)."""
    raise NotImplementedError


@per_backend
async def adjacent_days(db: Database, day: dt.date, *,
                        archive_imports: bool = False) -> tuple[dt.date | None, dt.date | None]:
    """The nearest day before `day` and the nearest after it with a digest listing papers (None: none)."""
    raise NotImplementedError
