"""`paperboy schedule set/list/pause/resume/remove` and `paperboy posts`: the daily post's settings
per server and its post log."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli.common import CliContext, CliError, add_json_flag, positive_int, print_json
from bot.schedule import decide as rules
from bot.schedule.clock import system_clock
from bot.schedule.settings import ScheduleError, parse_target, set_schedule
from storage import guilds as guild_repo
from storage import posts as post_repo
from storage.guilds import DIGEST_DAYS, ON_EMPTY, GuildSchedule
from storage.posts import STATUSES, PostRecord

# What an operator may turn a post that ended 'unknown' or 'failed' into.
_RESOLUTIONS = {"sent": "sent", "skipped": "skipped", "retry": "pending"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schedule",
                       description="Per-server settings of the daily post.")
    actions = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True,
                               help="set, list, pause, resume or remove (each has --help)")

    s = actions.add_parser("set", help="create or change a server's schedule",
                           description="Create or change a server's schedule. Options left out keep their "
                                       "current value; a new schedule needs --channel, --time and --tz.")
    s.add_argument("server", metavar="SERVER", help="server id: discord:123 (bare digits mean Discord) or console:NAME")
    s.add_argument("--channel", help="the channel to post in")
    s.add_argument("--time", metavar="HH:MM", help="local post time, 24-hour")
    s.add_argument("--tz", metavar="ZONE", help="IANA time zone, e.g. Europe/Berlin")
    s.add_argument("--thread", action=argparse.BooleanOptionalAction, default=None,
                   help="put the full list in a thread under the post (default: on)")
    roles = s.add_mutually_exclusive_group()
    roles.add_argument("--role", metavar="R", help="role id to mention in the post")
    roles.add_argument("--no-role", action="store_true", help="mention no role")
    s.add_argument("--on-empty", choices=ON_EMPTY, help="on a day with no digest: post nothing or a short note")
    s.add_argument("--source", help="post this digest source (e.g. hf-daily); 'any' = the day's largest digest")
    s.add_argument("--digest-day", choices=DIGEST_DAYS,
                   help="post the digest dated today (default) or yesterday, in the server's time zone")
    add_json_flag(s)
    s.set_defaults(handler=run_set)

    s = actions.add_parser("list", help="every server's schedule and its next post time")
    add_json_flag(s)
    s.set_defaults(handler=run_list)

    for name, text in (("pause", "stop posting to a server until resumed"),
                       ("resume", "post again (days missed while paused are not made up)"),
                       ("remove", "delete a server's schedule (its post log stays)")):
        s = actions.add_parser(name, help=text)
        s.add_argument("server", metavar="SERVER",
                       help="server id: discord:123 (bare digits mean Discord) or console:NAME")
        s.set_defaults(handler=run_toggle, toggle=name)

    p = sub.add_parser("posts",

                       description="The daily posts sent, skipped, failed or in doubt, newest day first.")
    p.add_argument("--server", help="only this server")
    p.add_argument("--status", choices=STATUSES, help="only posts with this status")
    p.add_argument("--limit", type=positive_int, default=50, help="at most this many (default 50)")
    p.add_argument("--resolve", type=positive_int, metavar="ID",
                   help="settle an 'unknown' or 'failed' post after checking the channel (with --as)")
    p.add_argument("--as", dest="resolve_as", choices=sorted(_RESOLUTIONS),
                   help="sent: it did go out; skipped: leave the day without a post; retry: send it again")
    add_json_flag(p)
    p.set_defaults(handler=run_posts)


def _next_post(schedule: GuildSchedule, now: dt.datetime) -> dt.datetime | None:
    if schedule.paused:
        return None
    today = rules.local_day(now, ZoneInfo(schedule.timezone))
    for offset in range(3):
        at = rules.slot_time(schedule, today + dt.timedelta(days=offset))
        if at > now:
            return at
    return None


def _schedule_json(s: GuildSchedule, now: dt.datetime) -> dict[str, Any]:
    upcoming = _next_post(s, now)
    return {"server": s.guild_id, "channel": s.channel_id, "time": s.post_time.strftime("%H:%M"),
            "timezone": s.timezone, "thread": s.thread, "role": s.role_id, "paused": s.paused,
            "on_empty": s.on_empty, "source": s.source, "digest_day": s.digest_day,
            "next_post": upcoming.isoformat() if upcoming else None}


def _schedule_line(s: GuildSchedule, now: dt.datetime) -> str:
    upcoming = _next_post(s, now)
    when = (upcoming.astimezone(ZoneInfo(s.timezone)).strftime("next %Y-%m-%d %H:%M %Z") if upcoming
            else "paused")
    options = ["thread" if s.thread else "no thread", f"on empty: {s.on_empty}", f"digest: {s.digest_day}"]
    if s.role_id is not None:
        options.append(f"role {s.role_id}")
    if s.source:
        options.append(f"source {s.source}")
    return (f"{s.guild_id:<24} {s.channel_id:<24} {s.post_time.strftime('%H:%M')} {s.timezone:<20} "
            f"{when}  ({', '.join(options)})")


async def run_set(ctx: CliContext) -> int:
    a = ctx.args
    role: object = None if a.no_role else a.role
    source: object = None if a.source == "any" else a.source
    kwargs: dict[str, Any] = {}
    if a.no_role or a.role is not None:
        kwargs["role"] = role
    if a.source is not None:
        kwargs["source"] = source
    try:
        saved = await set_schedule(await ctx.db(), a.server, channel=a.channel, time=a.time, timezone=a.tz,
                                   thread=a.thread, on_empty=a.on_empty, digest_day=a.digest_day, **kwargs)
    except ScheduleError as exc:
        raise CliError(str(exc)) from None
    if a.json:
        print_json(_schedule_json(saved, system_clock()))
    else:
        print(_schedule_line(saved, system_clock()))
    return 0


async def run_list(ctx: CliContext) -> int:
    schedules = await guild_repo.list_schedules(await ctx.db())
    now = system_clock()
    if ctx.args.json:
        print_json([_schedule_json(s, now) for s in schedules])
        return 0
    if not schedules:
        print("no schedules yet: add one with `paperboy schedule set SERVER --channel C --time HH:MM --tz ZONE`")
    for s in schedules:
        print(_schedule_line(s, now))
    return 0


async def run_toggle(ctx: CliContext) -> int:
    try:
        guild = parse_target(ctx.args.server, "server")
    except ScheduleError as exc:
        raise CliError(str(exc)) from None
    db = await ctx.db()
    action = ctx.args.toggle
    if action == "remove":
        found = await guild_repo.remove_schedule(db, guild)
    else:
        found = await guild_repo.set_paused(db, guild, action == "pause")
    if not found:
        raise CliError(f"{guild} has no schedule (see `paperboy schedule list`)", status=1)
    print(f"{guild}: {'removed' if action == 'remove' else action + 'd'}")
    return 0


def _post_json(p: PostRecord) -> dict[str, Any]:
    return {"id": p.id, "server": p.guild_id, "channel": p.channel_id, "day": p.post_date.isoformat(),
            "digest": {"source": p.digest_source, "date": p.digest_date.isoformat()} if p.digest_source
            and p.digest_date else None,
            "kind": p.kind, "status": p.status, "reason": p.reason, "attempts": p.attempts,
            "error": p.error, "message": p.message_id, "thread": p.thread_id, "time": p.updated_at.isoformat()}


def _post_line(p: PostRecord) -> str:
    digest = f"{p.digest_source} {p.digest_date}" if p.digest_source else {"note": "(no-digest note)"}.get(
        p.kind, "-")
    line = (f"{p.id:>5}  {p.post_date}  {p.guild_id:<22} {p.channel_id:<22} {digest:<28} {p.status:<8} "
            f"{p.updated_at.strftime('%Y-%m-%d %H:%M:%SZ')}")
    if p.reason:
        line += f"  {p.reason}"
    elif p.error and p.status == "pending":
        line += f"  retrying: {p.error}"
    return line


async def run_posts(ctx: CliContext) -> int:
    a = ctx.args
    db = await ctx.db()
    if a.resolve is not None or a.resolve_as is not None:
        if a.resolve is None or a.resolve_as is None:
            raise CliError("--resolve ID and --as go together")
        changed = await post_repo.update_post(
            db, a.resolve, expect=("unknown", "failed"), status=_RESOLUTIONS[a.resolve_as], attempts=0,
            next_attempt_at=None, reason=f"resolved by an operator as {a.resolve_as}")
        if not changed:
            raise CliError(f"post {a.resolve} does not exist or is not 'unknown' or 'failed'", status=1)
    try:
        guild = parse_target(a.server, "server") if a.server else None
    except ScheduleError as exc:
        raise CliError(str(exc)) from None
    found = await post_repo.list_posts(db, guild_id=guild, status=a.status, limit=a.limit)
    if a.json:
        print_json([_post_json(p) for p in found])
        return 0
    if not found:
        print("no posts logged yet")
    for p in found:
        print(_post_line(p))
    return 0
