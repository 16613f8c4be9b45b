"""storage/guilds.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import asyncpg

from storage import guilds
from storage.db import now_utc
from storage.guilds import GuildSchedule
from storage.postgres.db import PostgresDatabase, seconds

_COLUMNS = ("guild_id, channel_id, post_time, timezone, thread, role_id, paused, on_empty, source, digest_day,"
            " active_since, created_at, updated_at")


def _from_row(row: asyncpg.Record) -> GuildSchedule:
    return GuildSchedule(
        guild_id=row["guild_id"], channel_id=row["channel_id"],
        post_time=dt.time.fromisoformat(row["post_time"]), timezone=row["timezone"],
        thread=row["thread"], role_id=row["role_id"], paused=row["paused"],
        on_empty=row["on_empty"], source=row["source"], digest_day=row["digest_day"],
        active_since=row["active_since"], created_at=row["created_at"], updated_at=row["updated_at"],
    )


@guilds.save_schedule.register(PostgresDatabase)
async def save_schedule(db: PostgresDatabase, schedule: GuildSchedule, *,
                        now: dt.datetime | None = None) -> GuildSchedule:
    stamp = seconds(now or now_utc())
    row = await db.fetchone(
        f"INSERT INTO guild_schedules ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11)"  # noqa: S608
        " ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id,"
        " post_time = excluded.post_time, timezone = excluded.timezone, thread = excluded.thread,"
        " role_id = excluded.role_id, on_empty = excluded.on_empty, source = excluded.source,"
        f" digest_day = excluded.digest_day, updated_at = excluded.updated_at RETURNING {_COLUMNS}",
        (schedule.guild_id, schedule.channel_id, schedule.post_time.strftime("%H:%M"), schedule.timezone,
         schedule.thread, schedule.role_id, schedule.paused, schedule.on_empty, schedule.source,
         schedule.digest_day, stamp),
    )
    assert row is not None
    return _from_row(row)


@guilds.get_schedule.register(PostgresDatabase)
async def get_schedule(db: PostgresDatabase, guild_id: str) -> GuildSchedule | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM guild_schedules WHERE guild_id = $1", (guild_id,))  # noqa: S608
    return _from_row(row) if row else None


@guilds.list_schedules.register(PostgresDatabase)
async def list_schedules(db: PostgresDatabase, *, active_only: bool = False,
                         platform: str | None = None) -> list[GuildSchedule]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM guild_schedules WHERE (NOT $1::boolean OR NOT paused)"  # noqa: S608
        " AND ($2::text IS NULL OR left(guild_id, length($2) + 1) = $2 || ':') ORDER BY guild_id COLLATE \"C\"",
        (active_only, platform),
    )
    return [_from_row(r) for r in rows]


@guilds.set_paused.register(PostgresDatabase)
async def set_paused(db: PostgresDatabase, guild_id: str, paused: bool, *, now: dt.datetime | None = None) -> bool:
    changed = await db.execute(
        # `paused` on the right is the value before the update: resuming a paused server restarts it.
        "UPDATE guild_schedules SET paused = $1, updated_at = $2,"
        " active_since = CASE WHEN paused AND NOT $1 THEN $2 ELSE active_since END"
        " WHERE guild_id = $3",
        (paused, seconds(now or now_utc()), guild_id),
    )
    return changed > 0


@guilds.remove_schedule.register(PostgresDatabase)
async def remove_schedule(db: PostgresDatabase, guild_id: str) -> bool:
    return await db.execute("DELETE FROM guild_schedules WHERE guild_id = $1", (guild_id,)) > 0
