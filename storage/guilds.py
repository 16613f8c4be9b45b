"""Per-server schedule settings for the daily post: channel, local time, time zone and options.

Written by the admin commands and `paperboy schedule`; read by the scheduler. Validation of what
a user typed (time format, time-zone name) is the caller's job; the table's CHECKs are the net.
The SQL: storage/sqlite/guilds.py, storage/postgres/guilds.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend

ON_EMPTY = ("nothing", "note")
DIGEST_DAYS = ("today", "yesterday")


@dataclass(slots=True, frozen=True)
class GuildSchedule:
    guild_id: str
    channel_id: str
    post_time: dt.time  # local wall-clock time
    timezone: str  # IANA name
    thread: bool = True
    role_id: int | None = None
    paused: bool = False
    on_empty: str = "nothing"  # one of ON_EMPTY
    source: str | None = None  # None: the largest digest of the day
    digest_day: str = "today"  # one of DIGEST_DAYS: which local day's digest a day's post carries
    active_since: dt.datetime | None = None  # set by the repository: created or last resumed
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@per_backend
async def save_schedule(db: Database, schedule: GuildSchedule, *, now: dt.datetime | None = None) -> GuildSchedule:
    """Create or replace a server's schedule. Changing it keeps `active_since` and the pause state
    (a paused server stays paused until resumed)."""
    raise NotImplementedError


@per_backend
async def get_schedule(db: Database, guild_id: str) -> GuildSchedule | None:
    raise NotImplementedError


@per_backend
async def list_schedules(db: Database, *, active_only: bool = False,
                         platform: str | None = None) -> list[GuildSchedule]:
    """Every schedule, or only active ones, or only one platform's ("console", "discord"), by server id."""
    raise NotImplementedError


@per_backend
async def set_paused(db: Database, guild_id: str, paused: bool, *, now: dt.datetime | None = None) -> bool:
    """Pause or resume; False when the server has no schedule. Resuming moves `active_since` to now,
    so days that passed while paused are not made up."""
    raise NotImplementedError


@per_backend
async def remove_schedule(db: Database, guild_id: str) -> bool:
    """Stop posting to a server; its post log stays."""
    raise NotImplementedError
