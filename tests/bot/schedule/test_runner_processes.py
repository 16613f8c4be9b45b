"""The daily post from several processes sharing one database: each server's day goes out once,
whoever posts it, and what a process that died mid-send left is finished by another (#16).

A process is a `Database` handle of its own (on PostgreSQL its own pool and session; on SQLite
its own connection, the holds being the process's) with its own runner. The transport here
never hands back a keyed message twice (`honour_keys=False`), so a post sent by two processes
shows as two messages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.chat.outbound import Sent
from bot.chat.replies import Reply
from storage import posts as post_repo
from storage.backends import open_database
from storage.db import Database
from tests.bot.schedule.fakes import Crash, FakeOutbound
from tests.bot.schedule.test_runner import DAY, SLOT, DyingOutbound, berlin, runner
from tests.storage.raw import insert_digest

SERVERS = 30


@pytest.fixture
async def other(db_address: str, db: Database) -> AsyncIterator[Database]:
    """The same database opened by a second process."""
    second = await open_database(db_address)
    try:
        yield second
    finally:
        await second.close()


async def servers(db: Database, count: int = SERVERS) -> None:
    for i in range(1, count + 1):
        await berlin(db, f"discord:{i}", thread=False)
    await insert_digest(db, "hf-daily", DAY, papers=3)


def channels(out: FakeOutbound) -> list[str]:
    return sorted(m.channel_id for m in out.messages)


EVERY_CHANNEL = sorted(f"discord:{i}0" for i in range(1, SERVERS + 1))


@pytest.mark.both_backends
async def test_two_processes_due_at_the_same_moment_post_each_server_once(db: Database, other: Database) -> None:
    await servers(db)
    out = FakeOutbound(honour_keys=False)
    first, second = await asyncio.gather(runner(db, out, concurrency=4).run_due(SLOT),
                                         runner(other, out, concurrency=4).run_due(SLOT))
    assert channels(out) == EVERY_CHANNEL
    assert sorted(p.guild_id for p in first.sent + second.sent) == sorted(f"discord:{i}" for i in range(1, 31))
    assert {p.status for p in await post_repo.list_posts(db)} == {"sent"}


@pytest.mark.both_backends
async def test_a_process_killed_mid_fan_out_is_finished_by_another(db_address: str, other: Database) -> None:
    doomed = await open_database(db_address)
    await servers(doomed)
    dying = DyingOutbound(dies_at=7)
    with pytest.raises(Crash):
        await runner(doomed, dying, concurrency=5).run_due(SLOT)
    await asyncio.sleep(0.2)  # the dead run's other tasks run into the crash too
    await doomed.close()  # the process is gone (on PostgreSQL, its session and holds with it)
    assert "sending" in {p.status for p in await post_repo.list_posts(other)}
    # The other process's next sweep, a minute later; Discord hands back a keyed message it made.
    out = FakeOutbound(messages=list(dying.messages))
    await runner(other, out, start=SLOT + dt.timedelta(minutes=1)).run_due()
    assert channels(out) == EVERY_CHANNEL
    assert {p.status for p in await post_repo.list_posts(other)} == {"sent"}


class SlowOutbound(FakeOutbound):
    """Posts wait for `go` once `started` is set: a process in the middle of its fan-out."""

    def __init__(self) -> None:
        super().__init__(honour_keys=False)
        self.started = asyncio.Event()
        self.go = asyncio.Event()

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        self.started.set()
        await self.go.wait()
        return await super().post(channel_id, reply, key=key)


@pytest.mark.both_backends
async def test_a_process_starting_while_another_sends_leaves_its_posts_alone(db_address: str, db: Database) -> None:
    async with await open_database(db_address) as other:
        await servers(db)
        slow = SlowOutbound()
        sending = asyncio.ensure_future(runner(db, slow, concurrency=4).run_due(SLOT))
        await slow.started.wait()
        assert "sending" in {p.status for p in await post_repo.list_posts(other)}
        # Started (or sweeping) long after the dedupe window: a dead process's 'sending' rows would
        # become 'unknown' now; a live one's are not touched, nor sent twice.
        late = runner(other, FakeOutbound(messages=slow.messages, honour_keys=False),
                      start=SLOT + dt.timedelta(minutes=30))
        assert await late.recover() == []
        assert (await late.run_due()).sent == []
        slow.go.set()
        report = await sending
        assert len(report.sent) == SERVERS and channels(slow) == EVERY_CHANNEL
        assert {p.status for p in await post_repo.list_posts(other)} == {"sent"}
