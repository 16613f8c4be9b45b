"""The processes sharing one database, and the leases on the work exactly one of them does (#16).

Process table: each `paperboy run` registers a row (host, pid, shards, start) and renews its
heartbeat every few seconds; a clean stop deletes the row. A row whose heartbeat is older than the
lease time belongs to a process that died without a word (SIGKILL, power, network): `paperboy
status` shows it as gone, and `prune_processes` forgets it after a while.

Leases: named work that runs in one process at a time (fetching digests, the upkeep) is held
under a lease (name, holder, expires_at). `acquire` takes a lease that is free or expired, or
renews one the caller holds, in one conditional upsert, so two processes asking at the same
moment cannot both get it; `renew` only extends a lease the caller still holds; `release` gives it
up. A holder renews with each heartbeat, well before expiry; a holder that dies stops renewing, and
the lease passes to the next process that asks once it expired.

Why a lease table and not PostgreSQL's advisory locks: the same design runs on both backends
(SQLite serves several processes on one machine too); the table is what `paperboy status` reads
to say who holds what; expiry is a time the tests can inject rather than a connection they must
cut; and a lease outlives a restart of the PostgreSQL server, whereas every session lock ends
with it and all processes would race to take the work at once. The price is that a holder that
stalls longer than the lease (a frozen machine) may overlap with its successor until its next
renewal fails and it stops: the work under leases (fetching, pruning) is idempotent, so an
overlap costs a repeated request, never a duplicate message. Times come from each process's
clock, which processes on several machines must keep in step (NTP) to well within the lease.

The SQL: storage/sqlite/processes.py, storage/postgres/processes.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend

FETCH = "fetch"  # the digest sources' poller (bot/sources/poller.py)
UPKEEP = "upkeep"  # archive-wide housekeeping (bot/processes/coordinator.py says what)
LEASES = (FETCH, UPKEEP)


@dataclass(slots=True, frozen=True)
class ProcessRecord:
    id: int
    host: str
    pid: int
    shards: str | None
    command: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime


@dataclass(slots=True, frozen=True)
class LeaseRecord:
    name: str
    holder: int  # ProcessRecord.id
    acquired_at: dt.datetime
    expires_at: dt.datetime

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at <= moment(now)


def moment(now: dt.datetime) -> dt.datetime:
    """`now` in UTC to the whole second, as both backends store it (SQLite keeps seconds)."""
    return now.astimezone(dt.UTC).replace(microsecond=0)


# -- the process table ----------------------------------------------------------------------------

@per_backend
async def register(db: Database, *, host: str, pid: int, shards: str | None, command: str,
                   now: dt.datetime) -> int:
    """Add this process's row (started and last heard of at `now`); returns its id."""
    raise NotImplementedError


@per_backend
async def heartbeat(db: Database, process_id: int, *, now: dt.datetime) -> bool:
    """The process is alive at `now`. False when its row is gone (pruned as dead: a process that
    stalled longer than `prune_processes`' horizon registers again)."""
    raise NotImplementedError


@per_backend
async def unregister(db: Database, process_id: int) -> None:
    """A clean stop: delete the process's row and give up every lease it holds."""
    raise NotImplementedError


@per_backend
async def list_processes(db: Database) -> list[ProcessRecord]:
    """Every registered process, oldest start first (ties: by id)."""
    raise NotImplementedError


@per_backend
async def prune_processes(db: Database, *, heard_before: dt.datetime) -> int:
    """Forget processes not heard of since `heard_before` (dead ones); returns how many."""
    raise NotImplementedError


# -- leases -----------------------------------------------------------------------------------------

@per_backend
async def acquire(db: Database, name: str, holder: int, *, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Take lease `name` for `holder` until `now + ttl` if it is free, expired, or already the
    holder's (then it is renewed, keeping its `acquired_at`). True when `holder` has it now."""
    raise NotImplementedError


@per_backend
async def renew(db: Database, name: str, holder: int, *, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Extend lease `name` to `now + ttl`, only while `holder` holds it (expired or not, as long
    as nobody took it since). False for anyone else: the caller must stop the work."""
    raise NotImplementedError


@per_backend
async def release(db: Database, name: str, holder: int) -> bool:
    """Give lease `name` up (only the holder can); True when it was the holder's."""
    raise NotImplementedError


@per_backend
async def list_leases(db: Database) -> list[LeaseRecord]:
    """Every lease, expired or not, by name."""
    raise NotImplementedError
