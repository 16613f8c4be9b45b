"""Server schedule settings: saving, changing, pausing and removing (on both backends)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import asyncpg
import pytest

from storage import guilds
from storage.db import Database
from storage.guilds import GuildSchedule

pytestmark = pytest.mark.both_backends

T0 = dt.datetime(2025, 9, 1, 12, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)
T2 = T0 + dt.timedelta(days=2)


def berlin(channel: str = "discord:10", **kw: object) -> GuildSchedule:
    return GuildSchedule("discord:1", channel, dt.time(9, 0), "Europe/Berlin", **kw)  # type: ignore[arg-type]


async def test_saved_schedule_reads_back_with_every_option(db: Database) -> None:
    saved = await guilds.save_schedule(db, berlin(thread=False, role_id=42, on_empty="note", source="hf-daily",
                                                  digest_day="yesterday"), now=T0)
    assert saved == await guilds.get_schedule(db, "discord:1")
    assert (saved.post_time, saved.timezone, saved.thread, saved.role_id) == (dt.time(9), "Europe/Berlin", False, 42)
    assert (saved.on_empty, saved.source, saved.digest_day, saved.active_since) == ("note", "hf-daily", "yesterday",
                                                                                    T0)


async def test_changing_a_schedule_keeps_when_it_became_active_and_its_pause(db: Database) -> None:
    await guilds.save_schedule(db, berlin(), now=T0)
    await guilds.set_paused(db, "discord:1", True, now=T1)
    changed = await guilds.save_schedule(db, berlin("discord:99"), now=T2)
    assert (changed.channel_id, changed.paused, changed.active_since, changed.updated_at) == (
        "discord:99", True, T0, T2)


async def test_resuming_moves_active_since_so_paused_days_are_not_owed(db: Database) -> None:
    await guilds.save_schedule(db, berlin(), now=T0)
    assert await guilds.set_paused(db, "discord:1", True, now=T1)
    assert [s.guild_id for s in await guilds.list_schedules(db, active_only=True)] == []
    assert await guilds.set_paused(db, "discord:1", False, now=T2)
    resumed = await guilds.get_schedule(db, "discord:1")
    assert resumed is not None and not resumed.paused and resumed.active_since == T2
    await guilds.set_paused(db, "discord:1", False, now=T2 + dt.timedelta(days=1))  # already active: unchanged
    again = await guilds.get_schedule(db, "discord:1")
    assert again is not None and again.active_since == T2


async def test_remove_and_unknown_servers(db: Database) -> None:
    await guilds.save_schedule(db, berlin(), now=T0)
    assert await guilds.remove_schedule(db, "discord:1")
    assert await guilds.get_schedule(db, "discord:1") is None
    assert not await guilds.remove_schedule(db, "discord:1")
    assert not await guilds.set_paused(db, "discord:404", True)


async def test_the_table_refuses_an_unknown_on_empty_value(db: Database) -> None:
    with pytest.raises((sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)):
        await guilds.save_schedule(db, berlin(on_empty="shout"))


async def test_schedules_and_posts_can_be_listed_for_one_platform(db: Database) -> None:
    from dataclasses import replace

    from storage import posts as post_repo

    for guild in ("console:lab", "discord:1", "discordx:3"):
        await guilds.save_schedule(db, replace(berlin(), guild_id=guild))
    assert [s.guild_id for s in await guilds.list_schedules(db, platform="console")] == ["console:lab"]
    assert [s.guild_id for s in await guilds.list_schedules(db, platform="discord")] == ["discord:1"]
    assert len(await guilds.list_schedules(db)) == 3
    assert await post_repo.posts_in_status(db, ["pending"], platform="console") == []
