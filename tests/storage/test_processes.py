"""The process table and the leases (storage/processes.py) on both backends, with an injected clock."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage import processes
from storage.backends import open_database
from storage.db import Database

pytestmark = pytest.mark.both_backends

T0 = dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(seconds=30)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def test_a_process_registers_beats_and_unregisters(db: Database) -> None:
    first = await processes.register(db, host="alpha", pid=41, shards="0-3", command="run", now=at(0))
    second = await processes.register(db, host="beta", pid=42, shards=None, command="run", now=at(5.7))
    assert second > first
    assert await processes.heartbeat(db, first, now=at(10.25))
    rows = await processes.list_processes(db)
    assert [(p.id, p.host, p.pid, p.shards, p.command) for p in rows] == [
        (first, "alpha", 41, "0-3", "run"), (second, "beta", 42, None, "run")]
    assert rows[0].started_at == at(0) and rows[0].heartbeat_at == at(10)  # whole seconds on both
    assert rows[1].started_at == rows[1].heartbeat_at == at(5)
    await processes.unregister(db, first)
    assert [p.id for p in await processes.list_processes(db)] == [second]
    assert not await processes.heartbeat(db, first, now=at(20))  # gone: it registers again


async def test_dead_processes_are_pruned_and_ids_never_come_back(db: Database) -> None:
    dead = await processes.register(db, host="h", pid=1, shards=None, command="run", now=at(0))
    live = await processes.register(db, host="h", pid=2, shards=None, command="run", now=at(0))
    await processes.heartbeat(db, live, now=at(100))
    assert await processes.prune_processes(db, heard_before=at(50)) == 1
    assert [p.id for p in await processes.list_processes(db)] == [live]
    await processes.unregister(db, live)
    again = await processes.register(db, host="h", pid=1, shards=None, command="run", now=at(200))
    assert again not in (dead, live)  # a lease naming an old id never names a new process


async def test_a_lease_is_held_by_one_process_until_it_expires(db: Database) -> None:
    assert await processes.acquire(db, "fetch", 1, now=at(0), ttl=TTL)
    assert not await processes.acquire(db, "fetch", 2, now=at(29), ttl=TTL)
    assert await processes.acquire(db, "upkeep", 2, now=at(1), ttl=TTL)  # another lease is another matter
    assert await processes.acquire(db, "fetch", 2, now=at(30), ttl=TTL)  # expired: taken over
    lease = {lease.name: lease for lease in await processes.list_leases(db)}["fetch"]
    assert (lease.holder, lease.acquired_at, lease.expires_at) == (2, at(30), at(60))
    assert not lease.expired(at(59)) and lease.expired(at(60))
    assert not await processes.renew(db, "fetch", 1, now=at(31), ttl=TTL)  # the old holder must stop


async def test_the_holder_renews_and_nobody_else_can(db: Database) -> None:
    assert await processes.acquire(db, "fetch", 1, now=at(0), ttl=TTL)
    assert not await processes.renew(db, "fetch", 2, now=at(10), ttl=TTL)
    assert await processes.renew(db, "fetch", 1, now=at(10), ttl=TTL)
    assert await processes.acquire(db, "fetch", 1, now=at(20), ttl=TTL)  # acquiring again renews too
    assert not await processes.acquire(db, "fetch", 2, now=at(45), ttl=TTL)
    [lease] = await processes.list_leases(db)
    assert (lease.holder, lease.acquired_at, lease.expires_at) == (1, at(0), at(50))
    assert not await processes.renew(db, "upkeep", 1, now=at(10), ttl=TTL)  # never acquired: nothing to renew
    # Expired but nobody took it: still the holder's, who may renew it (nobody else started the work).
    assert await processes.renew(db, "fetch", 1, now=at(70), ttl=TTL)
    assert not await processes.acquire(db, "fetch", 2, now=at(71), ttl=TTL)


async def test_release_is_the_holders_and_frees_the_lease(db: Database) -> None:
    assert await processes.acquire(db, "fetch", 1, now=at(0), ttl=TTL)
    assert not await processes.release(db, "fetch", 2)
    assert await processes.release(db, "fetch", 1)
    assert await processes.list_leases(db) == []
    assert await processes.acquire(db, "fetch", 2, now=at(1), ttl=TTL)


async def test_a_clean_stop_gives_up_the_process_leases(db: Database) -> None:
    me = await processes.register(db, host="h", pid=1, shards=None, command="run", now=at(0))
    assert await processes.acquire(db, "fetch", me, now=at(0), ttl=TTL)
    assert await processes.acquire(db, "upkeep", 99, now=at(0), ttl=TTL)
    await processes.unregister(db, me)
    assert [lease.name for lease in await processes.list_leases(db)] == ["upkeep"]
    assert await processes.acquire(db, "fetch", 7, now=at(1), ttl=TTL)  # at once, not after expiry


async def test_many_processes_asking_at_once_give_one_holder(db_address: str, db: Database) -> None:
    handles = [await open_database(db_address) for _ in range(3)]
    try:
        for round_, now in enumerate((at(0), at(30), at(60))):  # free, then expired twice
            got = await asyncio.gather(*(processes.acquire(h, "fetch", 10 * round_ + i, now=now, ttl=TTL)
                                         for i, h in enumerate([db, *handles])))
            assert sum(got) == 1
            [lease] = await processes.list_leases(db)
            assert lease.holder == 10 * round_ + got.index(True)
    finally:
        for h in handles:
            await h.close()
