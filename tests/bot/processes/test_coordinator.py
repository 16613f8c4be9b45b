"""The coordinator (bot/processes/coordinator.py): leased work runs in one process at a time, is
taken over once its holder stops renewing, and stops where the lease was lost. Processes are
coordinators with their own host names on their own database handles; time is injected."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import AsyncIterator

import pytest

from bot.config import ProcessSettings
from bot.processes.coordinator import Coordinator, Leased
from storage import processes
from storage.backends import open_database
from storage.db import Database

pytestmark = pytest.mark.both_backends

T0 = dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC)
SETTINGS = ProcessSettings(heartbeat_seconds=10, lease_seconds=30, forget_after_seconds=3600)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class Work:
    """Leased work that records whether it runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.running = False
        self.starts = 0

    async def start(self) -> None:
        assert not self.running
        self.running, self.starts = True, self.starts + 1

    async def stop(self) -> None:
        assert self.running
        self.running = False

    def leased(self) -> Leased:
        return Leased(self.name, self.start, self.stop)


@pytest.fixture
async def other(db_address: str, db: Database) -> AsyncIterator[Database]:
    second = await open_database(db_address)
    try:
        yield second
    finally:
        await second.close()


def process(db: Database, host: str, clock: Clock, settings: ProcessSettings = SETTINGS,
            ) -> tuple[Coordinator, Work, Work]:
    fetch, upkeep = Work("fetch"), Work("upkeep")
    return Coordinator(db, settings, [fetch.leased(), upkeep.leased()], shards=f"{host}-shards", clock=clock,
                       host=host, pid=1000), fetch, upkeep


async def test_the_first_process_holds_the_work_and_a_killed_one_is_taken_over(db: Database, other: Database) -> None:
    clock = Clock()
    a, a_fetch, a_upkeep = process(db, "alpha", clock)
    b, b_fetch, b_upkeep = process(other, "beta", clock)
    await a.start()
    await b.start()
    try:
        assert a.holds == {"fetch", "upkeep"} and a_fetch.running and a_upkeep.running
        assert b.holds == set() and not b_fetch.running and not b_upkeep.running
        for _ in range(5):  # both beat along for a while: nothing moves
            clock.advance(10)
            await a.beat()
            await b.beat()
        assert a.holds == {"fetch", "upkeep"} and b.holds == set()
        # alpha is SIGKILLed: it beats no more. Its leases expire 30 s after its last renewal.
        clock.advance(20)
        await b.beat()
        assert b.holds == set()
        clock.advance(10)
        await b.beat()
        assert b.holds == {"fetch", "upkeep"} and b_fetch.running and b_upkeep.running
        # alpha was only frozen, not dead: at its next beat it finds its leases gone and stops.
        await a.beat()
        assert a.holds == set() and not a_fetch.running and not a_upkeep.running
        assert {lease.holder for lease in await processes.list_leases(db)} == {b.process_id}
    finally:
        await b.close()
        await a.close()


async def test_a_clean_stop_hands_the_work_over_at_the_next_beat(db: Database, other: Database) -> None:
    clock = Clock()
    a, a_fetch, _ = process(db, "alpha", clock)
    b, b_fetch, _ = process(other, "beta", clock)
    await a.start()
    await b.start()
    try:
        assert [p.host for p in await processes.list_processes(db)] == ["alpha", "beta"]
        await a.close()
        assert not a_fetch.running and [p.host for p in await processes.list_processes(db)] == ["beta"]
        clock.advance(10)
        await b.beat()  # well before the 30 s a dead holder's lease would take to expire
        assert b.holds == {"fetch", "upkeep"} and b_fetch.running
    finally:
        await b.close()
    assert await processes.list_processes(db) == [] and await processes.list_leases(db) == []


async def test_a_process_cut_off_from_the_database_stops_its_leased_work(db_address: str) -> None:
    clock = Clock()
    cut = await open_database(db_address)
    fast = ProcessSettings(heartbeat_seconds=0.01, lease_seconds=30, forget_after_seconds=3600)
    a, a_fetch, a_upkeep = process(cut, "alpha", clock, fast)
    await a.start()
    try:
        assert a_fetch.running
        await cut.close()  # every beat now fails
        clock.advance(20)
        await asyncio.sleep(0.1)
        assert a_fetch.running  # not yet: renewed 20 s ago, nobody else can have it
        clock.advance(10)
        for _ in range(500):
            if not a_fetch.running:
                break
            await asyncio.sleep(0.01)
        assert a.holds == set() and not a_fetch.running and not a_upkeep.running
    finally:
        await a.close()  # cannot unregister: its row and leases expire instead


async def test_the_upkeep_holder_forgets_processes_long_gone(db: Database, other: Database) -> None:
    clock = Clock()
    dead = await processes.register(other, host="gamma", pid=7, shards=None, command="run", now=T0)
    a, _, _ = process(db, "alpha", clock)
    await a.start()
    try:
        clock.advance(3599)
        await a.beat()
        assert [p.id for p in await processes.list_processes(db)] == [dead, a.process_id]
        clock.advance(2)
        await a.beat()
        assert [p.id for p in await processes.list_processes(db)] == [a.process_id]
    finally:
        await a.close()


async def test_a_forgotten_process_registers_again_and_starts_over(db: Database, other: Database) -> None:
    clock = Clock()
    a, a_fetch, _ = process(db, "alpha", clock)
    await a.start()
    try:
        first = a.process_id
        await processes.prune_processes(other, heard_before=T0 + dt.timedelta(seconds=1))  # as if stalled
        clock.advance(10)
        await a.beat()
        assert a.process_id != first and [p.id for p in await processes.list_processes(db)] == [a.process_id]
        # Its old leases were stopped; unexpired, they are still the old id's until they expire.
        assert a.holds == set() and not a_fetch.running
        clock.advance(30)
        await a.beat()
        assert a.holds == {"fetch", "upkeep"} and a_fetch.starts == 2
    finally:
        await a.close()


async def test_a_restarted_process_frees_what_its_dead_predecessor_held_at_once(db: Database) -> None:
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()  # a pid that no process has now
    old = await processes.register(db, host="alpha", pid=gone.pid, shards=None, command="run", now=T0)
    elsewhere = await processes.register(db, host="beta", pid=gone.pid, shards=None, command="run", now=T0)
    assert await processes.acquire(db, "fetch", old, now=T0, ttl=dt.timedelta(seconds=30))
    clock = Clock()
    clock.advance(1)
    a, a_fetch, _ = process(db, "alpha", clock)
    await a.start()
    try:
        assert a_fetch.running  # not 30 s later: its predecessor on this machine is known dead
        # Another machine's process cannot be checked from here: it stays until it expires.
        assert [p.id for p in await processes.list_processes(db)] == [elsewhere, a.process_id]
    finally:
        await a.close()


async def test_a_process_whose_heartbeat_hangs_stops_its_leased_work(db: Database,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    quick = ProcessSettings(heartbeat_seconds=0.01, lease_seconds=0.2, forget_after_seconds=3600)
    a, a_fetch, _ = process(db, "alpha", clock, quick)
    await a.start()
    try:
        async def silent_network(*args: object, **kwargs: object) -> bool:
            await asyncio.Event().wait()  # a statement whose answer never comes
            return True

        monkeypatch.setattr(processes, "heartbeat", silent_network)
        clock.advance(1)
        for _ in range(500):
            if not a_fetch.running:
                break
            await asyncio.sleep(0.01)
        assert a.holds == set() and not a_fetch.running
    finally:
        monkeypatch.undo()
        await a.close()
