"""storage/processes.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import asyncpg

from storage import processes
from storage.postgres.db import PostgresDatabase
from storage.processes import LeaseRecord, ProcessRecord, moment


@processes.register.register(PostgresDatabase)
async def register(db: PostgresDatabase, *, host: str, pid: int, shards: str | None, command: str,
                   now: dt.datetime) -> int:
    at = moment(now)
    row = await db.fetchone(
        "INSERT INTO processes (host, pid, shards, command, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $5)"
        " RETURNING id", (host, pid, shards, command, at))
    assert row is not None
    return int(row[0])


@processes.heartbeat.register(PostgresDatabase)
async def heartbeat(db: PostgresDatabase, process_id: int, *, now: dt.datetime) -> bool:
    return await db.execute("UPDATE processes SET heartbeat_at = $1 WHERE id = $2", (moment(now), process_id)) > 0


@processes.unregister.register(PostgresDatabase)
async def unregister(db: PostgresDatabase, process_id: int) -> None:
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM leases WHERE holder = $1", process_id)
        await conn.execute("DELETE FROM processes WHERE id = $1", process_id)


def _process(row: asyncpg.Record) -> ProcessRecord:
    return ProcessRecord(int(row["id"]), row["host"], int(row["pid"]), row["shards"], row["command"],
                         row["started_at"], row["heartbeat_at"])


@processes.list_processes.register(PostgresDatabase)
async def list_processes(db: PostgresDatabase) -> list[ProcessRecord]:
    return [_process(r) for r in await db.fetchall("SELECT * FROM processes ORDER BY started_at, id")]


@processes.prune_processes.register(PostgresDatabase)
async def prune_processes(db: PostgresDatabase, *, heard_before: dt.datetime) -> int:
    return await db.execute("DELETE FROM processes WHERE heartbeat_at < $1", (moment(heard_before),))


@processes.acquire.register(PostgresDatabase)
async def acquire(db: PostgresDatabase, name: str, holder: int, *, now: dt.datetime, ttl: dt.timedelta) -> bool:
    at = moment(now)
    # One statement: ON CONFLICT locks the existing row, so of two processes asking at once the
    # second sees the first's lease (unexpired, not its own) and changes nothing.
    row = await db.fetchone(
        "INSERT INTO leases AS l (name, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (name) DO UPDATE SET"
        " acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE excluded.acquired_at END,"
        " holder = excluded.holder, expires_at = excluded.expires_at"
        " WHERE l.holder = excluded.holder OR l.expires_at <= excluded.acquired_at"
        " RETURNING holder", (name, holder, at, at + ttl))
    return row is not None


@processes.renew.register(PostgresDatabase)
async def renew(db: PostgresDatabase, name: str, holder: int, *, now: dt.datetime, ttl: dt.timedelta) -> bool:
    return await db.execute("UPDATE leases SET expires_at = $1 WHERE name = $2 AND holder = $3",
                            (moment(now) + ttl, name, holder)) > 0


@processes.release.register(PostgresDatabase)
async def release(db: PostgresDatabase, name: str, holder: int) -> bool:
    return await db.execute("DELETE FROM leases WHERE name = $1 AND holder = $2", (name, holder)) > 0


@processes.list_leases.register(PostgresDatabase)
async def list_leases(db: PostgresDatabase) -> list[LeaseRecord]:
    rows = await db.fetchall("SELECT * FROM leases ORDER BY name COLLATE \"C\"")
    return [LeaseRecord(r["name"], int(r["holder"]), r["acquired_at"], r["expires_at"]) for r in rows]
