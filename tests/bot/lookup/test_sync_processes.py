"""Title look-up in several processes sharing one PostgreSQL database: each index sees the
others' loads, title changes and deletions without a restart, and misses none of them when
transactions commit in another order than they took their ids.

Two `Database` handles on one database stand for two processes (each has its own pool, and its
own connection listening for the others' notifications)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.lookup.service import LookupHit, LookupService
from bot.lookup.sync import TitleIndexSync
from storage.backends import open_database
from storage.db import Database
from tests.storage.archive_seed import digest, load, pg_insert_paper, rec

D1, D2 = dt.date(2025, 9, 8), dt.date(2025, 9, 9)
WAIT = 20.0  # seconds a notification may take at most on a loaded machine: a bound, not a measure


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[tuple[Database, Database]]:
    one = await open_database(pg_url)
    other = await open_database(pg_url)
    try:
        yield one, other
    finally:
        await other.close()
        await one.close()


async def eventually(ask: Callable[[], Awaitable[list[LookupHit]]],
                     done: Callable[[list[LookupHit]], bool]) -> list[LookupHit]:
    """Ask until the answer is `done` (or WAIT passed); the last answer."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        answer = await ask()
        if done(answer) or asyncio.get_running_loop().time() > deadline:
            return answer
        await asyncio.sleep(0.05)


async def test_one_process_sees_anothers_loads_changes_and_deletions_without_a_restart(
        two: tuple[Database, Database]) -> None:
    one, other = two
    await load(one, digest([rec("SliceGPT: Compress Large Language Models", "2401.15024")], D1))
    # Polls by the clock would take an hour: what the other process learns, it learns from the
    # database's notifications.
    here, there = LookupService(one, poll_every=3600), LookupService(other, poll_every=3600)
    await here.start()
    await there.start()
    try:
        assert there.pushed
        assert [h.arxiv_id for h in await there.lookup("slicegpt compress")] == ["2401.15024"]

        await load(one, digest([rec("FlashAttention: Fast and Memory-Efficient Exact Attention", "2205.14135")], D2))
        hits = await eventually(lambda: there.lookup("flashattention exact attention"),
                                lambda h: bool(h) and h[0].arxiv_id == "2205.14135")
        assert hits[0].arxiv_id == "2205.14135"

        await one.execute("UPDATE papers SET title = $1 WHERE arxiv_id = $2",
                          ("Quamba2: A Robust and Scalable Post-training Quantization Framework", "2401.15024"))
        hits = await eventually(lambda: there.lookup("quamba2 robust quantization"),
                                lambda h: bool(h) and h[0].arxiv_id == "2401.15024")
        assert hits[0].title.startswith("Quamba2")
        # Its old words linger in the postings until a build, but no longer match it well.
        assert all(h.arxiv_id != "2401.15024" or h.score < 50 for h in await there.lookup("slicegpt compress"))

        await one.execute("DELETE FROM papers WHERE arxiv_id = $1", ("2205.14135",))
        hits = await eventually(lambda: there.lookup("flashattention exact attention"),
                                lambda h: all(x.arxiv_id != "2205.14135" for x in h))
        assert all(x.arxiv_id != "2205.14135" for x in hits)
        # Each index holds exactly the archive; the process that wrote sees the same.
        assert len(there.sync.index) == len(here.sync.index) == 1
    finally:
        await there.close()
        await here.close()


async def test_papers_and_changes_committed_out_of_order_are_not_missed(two: tuple[Database, Database]) -> None:
    """A slow load takes a lower id (and an earlier log row) than a quick one that commits first:
    an index that already passed the quick one's id still finds the slow one's paper once it
    commits, and its title change."""
    one, other = two
    await load(one, digest([rec("Mamba: Linear-Time Sequence Modeling", "2312.00752")], D1))
    sync = TitleIndexSync(other)
    await sync.start(save=False)
    async with one.transaction() as slow:
        low = await pg_insert_paper(slow, rec("Tortoise Paper From a Slow Load", "2509.00001"), D2)
        await slow.execute("UPDATE papers SET title = $1 WHERE arxiv_id = $2",
                           "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", "2312.00752")
        async with one.transaction() as quick:
            high = await pg_insert_paper(quick, rec("Hare Paper From a Quick Load", "2509.00002"), D2)
        assert high > low
        await sync.refresh()
        assert sync.index.last_id == high and sync.index.title(high) == "Hare Paper From a Quick Load"
        assert sync.index.title(low) is None
    await sync.refresh()
    assert sync.index.title(low) == "Tortoise Paper From a Slow Load"
    assert sync.index.search("mamba selective state spaces", 1)[0].title.endswith("Selective State Spaces")
    assert len(sync.index) == 3
    assert await sync.refresh() == 0  # nothing is read twice
    # A full build from scratch agrees.
    fresh = TitleIndexSync(one)
    await fresh.build()
    assert sorted(fresh.index.title(i) or "" for i in range(1, high + 1)) == sorted(
        sync.index.title(i) or "" for i in range(1, high + 1))
