"""storage/processes.py on SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3

from storage import processes
from storage.db import iso, parse_iso
from storage.processes import LeaseRecord, ProcessRecord, moment
from storage.sqlite.db import SqliteDatabase


@processes.register.register(SqliteDatabase)
async def register(db: SqliteDatabase, *, host: str, pid: int, shards: str | None, command: str,
                   now: dt.datetime) -> int:
    at = iso(moment(now))
    async with db.transaction() as conn, conn.execute(
        "INSERT INTO processes (host, pid, shards, command, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)"
        " RETURNING id", (host, pid, shards, command, at, at),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


@processes.heartbeat.register(SqliteDatabase)
async def heartbeat(db: SqliteDatabase, process_id: int, *, now: dt.datetime) -> bool:
    return await db.execute("UPDATE processes SET heartbeat_at = ? WHERE id = ?",
                            (iso(moment(now)), process_id)) > 0


@processes.unregister.register(SqliteDatabase)
async def unregister(db: SqliteDatabase, process_id: int) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM leases WHERE holder = ?", (process_id,))
        await conn.execute("DELETE FROM processes WHERE id = ?", (process_id,))


def _process(row: sqlite3.Row) -> ProcessRecord:
    return ProcessRecord(int(row["id"]), row["host"], int(row["pid"]), row["shards"], row["command"],
                         parse_iso(row["started_at"]), parse_iso(row["heartbeat_at"]))


@processes.list_processes.register(SqliteDatabase)
async def list_processes(db: SqliteDatabase) -> list[ProcessRecord]:
    return [_process(r) for r in await db.fetchall("SELECT * FROM processes ORDER BY started_at, id")]


@processes.prune_processes.register(SqliteDatabase)
async def prune_processes(db: SqliteDatabase, *, heard_before: dt.datetime) -> int:
    return await db.execute("DELETE FROM processes WHERE heartbeat_at < ?", (iso(moment(heard_before)),))


@processes.acquire.register(SqliteDatabase)
async def acquire(db: SqliteDatabase, name: str, holder: int, *, now: dt.datetime, ttl: dt.timedelta) -> bool:
    at = moment(now)
    # One statement: the row is taken, renewed or left alone atomically (one writer at a time).
    return await db.execute(
        "INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET"
        " acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at"
        " ELSE excluded.acquired_at END,"
        " holder = excluded.holder, expires_at = excluded.expires_at"
        " WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at",
        (name, holder, iso(at), iso(at + ttl))) > 0


@processes.renew.register(SqliteDatabase)
async def renew(db: SqliteDatabase, name: str, holder: int, *, now: dt.datetime, ttl: dt.timedelta) -> bool:
    return await db.execute("UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ?",
                            (iso(moment(now) + ttl), name, holder)) > 0


@processes.release.register(SqliteDatabase)
async def release(db: SqliteDatabase, name: str, holder: int) -> bool:
    return await db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)) > 0


@processes.list_leases.register(SqliteDatabase)
async def list_leases(db: SqliteDatabase) -> list[LeaseRecord]:
    rows = await db.fetchall("SELECT * FROM leases ORDER BY name")
    return [LeaseRecord(r["name"], int(r["holder"]), parse_iso(r["acquired_at"]), parse_iso(r["expires_at"]))
            for r in rows]
