"""When a member's week of "for you" messages starts: Monday morning where they are, at the daily
post's time and in the time zone of the server where they opted in (08:00 UTC when that server
has no daily post, or they opted in by direct message). The week's key is the ISO week of that
local Monday (bot/similar/weekly.py claims one message per member per key)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.schedule.decide import wall_time
from storage.recommend import WeeklyMember

SEND_AT = dt.time(8, 0)  # on Monday, where the member's server has no daily post
# Every zone's local time lies within these of UTC: the weeks that may be someone's current one.
AHEAD, BEHIND = dt.timedelta(hours=14), dt.timedelta(hours=12)


def week_of(moment: dt.datetime | dt.date) -> str:
    day = moment.astimezone(dt.UTC).date() if isinstance(moment, dt.datetime) else moment
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class Due:
    """Where a member's weekly message stands at some moment."""

    week: str | None  # the week whose message is due (None: not yet this local week)
    local_day: dt.date  # the member's day at that moment
    next_at: dt.datetime  # when they are next due a look


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):  # a schedule row the admin commands would refuse
        return ZoneInfo("UTC")


def send_time(timezone: str | None, post_time: dt.time | None) -> tuple[dt.time, str]:
    """When on Monday, and in which zone, a member of a server with this daily post gets theirs."""
    return (post_time or SEND_AT) if timezone else SEND_AT, _zone(timezone).key


def due(member: WeeklyMember, now: dt.datetime) -> Due:
    """The week due to `member` at `now`, in their server's zone, and when to look next."""
    at, name = send_time(member.timezone, member.post_time)
    zone = ZoneInfo(name)
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    start = wall_time(monday, at, zone)
    if now < start:
        return Due(None, today, start)
    return Due(week_of(monday), today, wall_time(monday + dt.timedelta(days=7), at, zone))
