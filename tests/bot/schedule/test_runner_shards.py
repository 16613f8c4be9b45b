"""The daily post from sharded processes (#16): a runner built with a ShardSet posts only for the
servers on its shards, and never records another process's servers' days as skipped or missed,
whatever state their rows are in. Each "process" is a Database handle of its own and a runner."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.chat.outbound import TemporaryFailure
from bot.chat.shards import ShardSet
from bot.schedule.runner import PostingRunner
from storage import guilds as guild_repo
from storage import posts as post_repo
from storage.backends import open_database
from storage.db import Database
from tests.bot.schedule.fakes import FakeOutbound
from tests.bot.schedule.test_runner import DAY, SLOT, berlin, runner
from tests.storage.raw import insert_digest

pytestmark = pytest.mark.both_backends

COUNT = 9
RANGES = (ShardSet(frozenset({0, 1, 2}), COUNT), ShardSet(frozenset({3, 4, 5}), COUNT),
          ShardSet(frozenset({6, 7, 8}), COUNT))


def on_shard(shard: int, n: int) -> str:
    """The n-th server id on `shard` of COUNT (Discord's rule: (id >> 22) % count)."""
    return f"discord:{((n * COUNT + shard) << 22) + 7}"


SERVERS = [on_shard(s, n) for s in range(COUNT) for n in range(3)]


def owner(guild_id: str) -> int:
    return next(i for i, shards in enumerate(RANGES) if shards.owns(guild_id))


@pytest.fixture
async def handles(db_address: str, db: Database) -> AsyncIterator[list[Database]]:
    """The same database as three processes see it: `db` and two more handles."""
    more = [await open_database(db_address) for _ in range(2)]
    try:
        yield [db, *more]
    finally:
        for handle in more:
            await handle.close()


async def servers(db: Database) -> None:
    for guild in SERVERS:
        await berlin(db, guild, thread=False)
    await insert_digest(db, "hf-daily", DAY, papers=3)


def sharded(db: Database, out: FakeOutbound, shards: ShardSet, start: dt.datetime = SLOT) -> PostingRunner:
    return runner(db, out, start, shards=shards)


def test_servers_spread_over_every_shard_and_each_has_one_owner() -> None:
    assert sorted(owner(g) for g in SERVERS) == [0] * 9 + [1] * 9 + [2] * 9
    assert all(sum(s.owns(g) for s in RANGES) == 1 for g in SERVERS)


async def test_three_processes_each_post_their_own_servers_once(handles: list[Database]) -> None:
    await servers(handles[0])
    outs = [FakeOutbound(honour_keys=False) for _ in RANGES]
    reports = await asyncio.gather(*(sharded(db, out, shards).run_due()
                                     for db, out, shards in zip(handles, outs, RANGES, strict=True)))
    for i, (report, out) in enumerate(zip(reports, outs, strict=True)):
        assert sorted(p.guild_id for p in report.sent) == sorted(g for g in SERVERS if owner(g) == i)
        assert sorted(m.channel_id for m in out.messages) == sorted(f"{g}0" for g in SERVERS if owner(g) == i)
        assert report.skipped == [] and report.failed == []
    assert sorted((p.guild_id, p.status) for p in await post_repo.list_posts(handles[0])) == [
        (g, "sent") for g in sorted(SERVERS)]


async def test_a_process_alone_leaves_the_other_shards_days_unrecorded(db: Database) -> None:
    await servers(db)
    out = FakeOutbound()
    first = sharded(db, out, RANGES[0])
    await first.run_due()
    # Far past the post time, the cut-off and the grace window: the others' days would be
    # "missed" or "skipped" if this process judged them.
    await first.run_due(SLOT + dt.timedelta(hours=20))
    rows = await post_repo.list_posts(db)
    assert sorted(p.guild_id for p in rows) == sorted(g for g in SERVERS if owner(g) == 0)
    assert {p.status for p in rows} == {"sent"}


async def test_another_process_pending_and_paused_rows_are_not_marked_skipped(handles: list[Database]) -> None:
    db, other = handles[0], handles[1]
    await servers(db)
    # The second process claims its servers' days; every send fails for now (retry later).
    failing = FakeOutbound(fail_next=[TemporaryFailure("discord is down")] * 9)
    second = sharded(other, failing, RANGES[1])
    assert len((await second.run_due()).retrying) == 9
    theirs = [g for g in SERVERS if owner(g) == 1]
    await guild_repo.set_paused(db, theirs[0], True)  # paused before its retry: the owner skips it
    # The first process posts its own, then runs again much later (their rows pending and stale
    # by then, one schedule paused): none of it is the first process's to judge.
    first = sharded(db, FakeOutbound(), RANGES[0])
    assert {p.guild_id for p in (await first.run_due()).sent} == {g for g in SERVERS if owner(g) == 0}
    late = await first.run_due(SLOT + dt.timedelta(hours=20))
    assert late.skipped == [] and late.sent == []
    rows = {p.guild_id: p.status for p in await post_repo.list_posts(db)}
    assert [rows[g] for g in theirs] == ["pending"] * 9
    # Their owner, back a few minutes later, sends its own and skips the paused one.
    back = await sharded(other, FakeOutbound(), RANGES[1]).run_due(SLOT + dt.timedelta(minutes=5))
    assert [p.guild_id for p in back.skipped] == [theirs[0]]
    assert sorted(p.guild_id for p in back.sent) == sorted(theirs[1:])


async def test_recovery_takes_only_its_own_shards_rows(handles: list[Database]) -> None:
    db, other = handles[0], handles[1]
    await servers(db)
    await sharded(db, FakeOutbound(), ShardSet()).run_due()  # every row sent, by a one-process bot
    stuck = [p for p in await post_repo.list_posts(db) if owner(p.guild_id) in (0, 1)]
    for post in stuck:  # as a process killed mid-send leaves them
        await post_repo.update_post(db, post.id, status="sending", message_id=None, now=SLOT)
    recovered = sharded(other, FakeOutbound(), RANGES[1], start=SLOT + dt.timedelta(hours=2))
    assert {p.guild_id for p in await recovered.recover()} == {p.guild_id for p in stuck if owner(p.guild_id) == 1}
    statuses = {p.guild_id: p.status for p in await post_repo.list_posts(db)}
    assert {statuses[p.guild_id] for p in stuck if owner(p.guild_id) == 0} == {"sending"}
