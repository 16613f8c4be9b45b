"""Changing a server's schedule from what a user typed: one entry point (`set_schedule`) for the
admin commands and `paperboy schedule`, which checks every value and names the one that is wrong;
`describe` says what a schedule does, in one sentence.

Permission checks (only server admins) are the command layer's job, not this module's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage import guilds as guild_repo
from storage.db import Database
from storage.guilds import DIGEST_DAYS, ON_EMPTY, GuildSchedule

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_TARGET = re.compile(r"^[a-z]+:[\w.\-]{1,100}$")
_ROLE = re.compile(r"^(?:<@&)?(\d{1,20})>?$")


class ScheduleError(ValueError):
    """A schedule value that cannot be used; the message names it and says what is expected."""


def parse_post_time(text: str) -> dt.time:
    m = _TIME.match(text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ScheduleError(f"time '{text}' is not a time of day like 08:30 (24-hour HH:MM)")
    return dt.time(int(m.group(1)), int(m.group(2)))


def parse_timezone(text: str) -> str:
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"time zone '{text}' is not an IANA time zone name like Europe/Berlin "
                            "or America/New_York") from None
    return name


def parse_target(text: str, what: str) -> str:
    """A server or channel id: "discord:123", "console:lab", or bare digits (taken as Discord)."""
    value = text.strip()
    if value.isdigit():
        value = f"discord:{value}"
    if not _TARGET.match(value):
        raise ScheduleError(f"{what} '{text}' is not an id like discord:123456 or console:lab")
    return value


def parse_role(text: str) -> int:
    m = _ROLE.match(text.strip())
    if not m:
        raise ScheduleError(f"role '{text}' is not a role id (a number, or a mention like <@&123>)")
    return int(m.group(1))


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ScheduleError(f"{what} '{value}' must be one of: {', '.join(allowed)}")
    return value


_UNCHANGED = object()


async def set_schedule(db: Database, guild_id: str, *, channel: str | None = None, time: str | None = None,
                       timezone: str | None = None, thread: bool | None = None,
                       role: str | None | object = _UNCHANGED, on_empty: str | None = None,
                       source: str | None | object = _UNCHANGED, digest_day: str | None = None,
                       now: dt.datetime | None = None) -> GuildSchedule:
    """Create or change a server's schedule. Values left out keep their current setting; a new
    schedule needs channel, time and time zone. `role=None` / `source=None` clear those."""
    guild = parse_target(guild_id, "server")
    current = await guild_repo.get_schedule(db, guild)
    if current is None:
        missing = [name for name, value in (("channel", channel), ("time", time), ("time zone", timezone))
                   if value is None]
        if missing:
            raise ScheduleError(f"{guild} has no schedule yet: give its {', '.join(missing)}")
        assert channel is not None and time is not None and timezone is not None
        current = GuildSchedule(guild, parse_target(channel, "channel"), parse_post_time(time),
                                parse_timezone(timezone))
    changes: dict[str, object] = {}
    if channel is not None:
        changes["channel_id"] = parse_target(channel, "channel")
    if time is not None:
        changes["post_time"] = parse_post_time(time)
    if timezone is not None:
        changes["timezone"] = parse_timezone(timezone)
    if thread is not None:
        changes["thread"] = thread
    if role is not _UNCHANGED:
        changes["role_id"] = None if role is None else parse_role(str(role))
    if on_empty is not None:
        changes["on_empty"] = _choice(on_empty, ON_EMPTY, "on-empty")
    if source is not _UNCHANGED:
        changes["source"] = None if source is None else str(source).strip() or None
    if digest_day is not None:
        changes["digest_day"] = _choice(digest_day, DIGEST_DAYS, "digest day")
    return await guild_repo.save_schedule(db, replace(current, **changes), now=now)  # type: ignore[arg-type]


def describe(schedule: GuildSchedule) -> str:
    channel = schedule.channel_id.partition(":")[2]
    where = f"<#{channel}>" if schedule.channel_id.startswith("discord:") else f"#{channel}"
    parts = [f"Daily post in {where} at {schedule.post_time:%H:%M} {schedule.timezone}",
             "full list in a thread" if schedule.thread else "no thread"]
    if schedule.role_id is not None:
        parts.append(f"mentioning role {schedule.role_id}")
    if schedule.paused:
        parts.append("paused")
    return ", ".join(parts) + "."
