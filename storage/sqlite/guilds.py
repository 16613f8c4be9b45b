"""storage/guilds.py on SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3

from storage import guilds
from storage.db import iso, now_utc, parse_iso
from storage.guilds import GuildSchedule
from storage.sqlite.db import SqliteDatabase

_COLUMNS = ("guild_id, channel_id, post_time, timezone, thread, role_id, paused, on_empty, source, digest_day,"
            " active_since, created_at, updated_at")


def _from_row(row: sqlite3.Row) -> GuildSchedule:
    return GuildSchedule(
        guild_id=row["guild_id"], channel_id=row["channel_id"],
        post_time=dt.time.fromisoformat(row["post_time"]), timezone=row["timezone"],
        thread=bool(row["thread"]), role_id=row["role_id"], paused=bool(row["paused"]),
        on_empty=row["on_empty"], source=row["source"], digest_day=row["digest_day"],
        active_since=parse_iso(row["active_since"]), created_at=parse_iso(row["created_at"]),
        updated_at=parse_iso(row["updated_at"]),
    )


@guilds.save_schedule.register(SqliteDatabase)
async def save_schedule(db: SqliteDatabase, schedule: GuildSchedule, *,
                        now: dt.datetime | None = None) -> GuildSchedule:
    stamp = iso(now or now_utc())
    await db.execute(
        f"INSERT INTO guild_schedules ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
        " ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id,"
        " post_time = excluded.post_time, timezone = excluded.timezone, thread = excluded.thread,"
        " role_id = excluded.role_id, on_empty = excluded.on_empty, source = excluded.source,"
        " digest_day = excluded.digest_day, updated_at = excluded.updated_at",
        (schedule.guild_id, schedule.channel_id, schedule.post_time.strftime("%H:%M"), schedule.timezone,
         int(schedule.thread), schedule.role_id, int(schedule.paused), schedule.on_empty, schedule.source,
         schedule.digest_day, stamp, stamp, stamp),
    )
    saved = await get_schedule(db, schedule.guild_id)
    assert saved is not None
    return saved


@guilds.get_schedule.register(SqliteDatabase)
async def get_schedule(db: SqliteDatabase, guild_id: str) -> GuildSchedule | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM guild_schedules WHERE guild_id = ?", (guild_id,))  # noqa: S608
    return _from_row(row) if row else None


@guilds.list_schedules.register(SqliteDatabase)
async def list_schedules(db: SqliteDatabase, *, active_only: bool = False,
                         platform: str | None = None) -> list[GuildSchedule]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM guild_schedules WHERE (? = 0 OR paused = 0)"  # noqa: S608
        " AND (? IS NULL OR substr(guild_id, 1, length(?) + 1) = ? || ':') ORDER BY guild_id",
        (int(active_only), platform, platform, platform),
    )
    return [_from_row(r) for r in rows]


@guilds.set_paused.register(SqliteDatabase)
async def set_paused(db: SqliteDatabase, guild_id: str, paused: bool, *, now: dt.datetime | None = None) -> bool:
    stamp = iso(now or now_utc())
    changed = await db.execute(
        "UPDATE guild_schedules SET paused = ?, updated_at = ?,"
        " active_since = CASE WHEN paused = 1 AND ? = 0 THEN ? ELSE active_since END"
        " WHERE guild_id = ?",
        (int(paused), stamp, int(paused), stamp, guild_id),
    )
    return changed > 0


@guilds.remove_schedule.register(SqliteDatabase)
async def remove_schedule(db: SqliteDatabase, guild_id: str) -> bool:
    return await db.execute("DELETE FROM guild_schedules WHERE guild_id = ?", (guild_id,)) > 0
