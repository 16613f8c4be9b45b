"""/setup (server admins): where and when the daily post goes, and pausing it.

Values are checked by bot.schedule.settings, which names the one that is wrong.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Mapping
from typing import Any

from bot.chat.replies import Choice, Reply
from bot.commands.context import Context
from bot.commands.errors import NotAllowed, NotFound
from bot.commands.specs import CommandSpec, OptionSpec, OptionType
from bot.schedule.settings import describe, set_schedule
from storage import guilds as guild_repo


@functools.cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


async def suggest_timezone(ctx: Context, partial: str) -> list[Choice]:
    typed = partial.strip().casefold().replace(" ", "_")
    starts = [z for z in _zones() if z.casefold().startswith(typed)]
    contains = [z for z in _zones() if typed in z.casefold() and z not in starts]
    return [Choice(z, z) for z in (starts + contains)[:25]]


def guild_of(ctx: Context) -> str:
    if ctx.guild_id is None:
        raise NotAllowed("This command works in a server, not in a direct message.")
    return ctx.guild_id


async def run_channel(ctx: Context, options: Mapping[str, Any]) -> Reply:
    extra: dict[str, Any] = {}
    if "role" in options:
        extra["role"] = options["role"]
    saved = await set_schedule(ctx.services.db, guild_of(ctx), channel=options["channel"], time=options["time"],
                               timezone=options["timezone"], thread=options.get("thread"), now=ctx.now(), **extra)
    return Reply(text=describe(saved), private=True)


async def _toggle(ctx: Context, paused: bool) -> Reply:
    guild = guild_of(ctx)
    if not await guild_repo.set_paused(ctx.services.db, guild, paused, now=ctx.now()):
        raise NotFound("This server has no daily post yet: set one up with /setup channel.")
    if paused:
        return Reply(text="The daily post is paused; /setup resume starts it again.", private=True)
    return Reply(text="The daily post is back on; days missed while paused are not made up.", private=True)


async def run_pause(ctx: Context, options: Mapping[str, Any]) -> Reply:
    return await _toggle(ctx, True)


async def run_resume(ctx: Context, options: Mapping[str, Any]) -> Reply:
    return await _toggle(ctx, False)


SPECS = (
    CommandSpec(
        "setup", "Set up this server's daily paper post (server admins)",
        subcommands=(
            CommandSpec("channel", "Post the daily summary in a channel at a local time", options=(
                OptionSpec("channel", OptionType.CHANNEL, "The channel to post in", required=True),
                OptionSpec("time", OptionType.STRING, "Local time of day, 24-hour HH:MM, e.g. 09:00", required=True,
                           max_length=5),
                OptionSpec("timezone", OptionType.STRING, "IANA time zone, e.g. Europe/Berlin", required=True,
                           suggest=suggest_timezone, max_length=64),
                OptionSpec("thread", OptionType.BOOLEAN, "Put the full list in a thread under the post (default yes)"),
                OptionSpec("role", OptionType.ROLE, "A role to mention in each post"),
            ), handler=run_channel),
            CommandSpec("pause", "Stop the daily post until resumed", handler=run_pause),
            CommandSpec("resume", "Start the daily post again", handler=run_resume),
        ),
        admin_only=True, guild_only=True, private=True,
    ),
)
