"""Who asked for the weekly "for you" message (and in which server: its daily post's time zone
says when their Monday morning is), and the log of those sent (issue #18).

A member gets at most one a week: the log's row for (member, ISO week) is inserted as 'sending'
before the message goes out (the insert is the claim: a second process or a restarted one finds
it) and marked 'sent', 'failed' or 'unknown' after. Its id makes the idempotency key the
transport passes along ("rec:<id>"). The SQL: storage/sqlite/recommend.py,
storage/postgres/recommend.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend


@dataclass(frozen=True, slots=True)
class WeeklySend:
    id: int
    user_id: str
    week: str
    status: str  # sending, sent, failed, unknown
    papers: int
    reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class WeeklyMember:
    """An opted-in member due a look, with the daily post's time and zone of the server where they
    opted in (None: no server, or one with no daily post)."""

    user_id: str
    guild_id: str | None
    timezone: str | None
    post_time: dt.time | None


@per_backend
async def set_weekly(db: Database, user_id: str, on: bool, *, now: dt.datetime, guild_id: str | None = None) -> bool:
    """Opt the member in (or out of) the weekly message; True when that changed something. Opting
    in again from another server moves them to its time zone (they are due a look at once)."""
    raise NotImplementedError


@per_backend
async def is_weekly(db: Database, user_id: str) -> bool:
    raise NotImplementedError


@per_backend
async def weekly_due(db: Database, prefix: str, now: dt.datetime, limit: int) -> list[WeeklyMember]:
    """Opted-in members whose id starts with `prefix` ("discord:") and who are due a look at `now`
    (their `next_at` passed, or never set), in id order (at most `limit`)."""
    raise NotImplementedError


@per_backend
async def set_next(db: Database, user_id: str, next_at: dt.datetime) -> None:
    """When the member is next due a look."""
    raise NotImplementedError


@per_backend
async def claim_week(db: Database, user_id: str, week: str, *, now: dt.datetime) -> int | None:
    """Insert the member's row for `week` as 'sending'; its id, or None when the week has a row."""
    raise NotImplementedError


@per_backend
async def finish_week(db: Database, row_id: int, status: str, *, now: dt.datetime, papers: int = 0,
                      reason: str | None = None, expect: Sequence[str] = ("sending",)) -> bool:
    """Set the row's outcome while its status is one of `expect`; True when it changed."""
    raise NotImplementedError


@per_backend
async def weekly_sends(db: Database, *, status: str | None = None, user_id: str | None = None) -> list[WeeklySend]:
    """The log's rows (with that status, of that member), oldest first."""
    raise NotImplementedError
