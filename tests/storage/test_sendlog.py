"""Batched send-log updates: `update_rows` keeps `update_row`'s compare-and-set per row, and
`GroupWriter` lets concurrent senders share transactions while each learns its own outcome."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage import posts
from storage.db import Database
from storage.posts import Claim
from storage.sendlog import GroupWriter, RowUpdate

DAY = dt.date(2025, 9, 10)
NOW = dt.datetime(2025, 9, 10, 7, tzinfo=dt.UTC)


async def rows(db: Database, count: int) -> list[posts.PostRecord]:
    claimed = await posts.claim_many(db, [Claim(f"discord:{i}", f"discord:{i}0", DAY, "digest", f"k{i}")
                                          for i in range(count)], now=NOW)
    assert all(c is not None for c in claimed)
    return [c for c in claimed if c is not None]


async def test_claim_many_is_claim_for_each_day_in_order(db: Database) -> None:
    first = await rows(db, 3)
    assert [(p.guild_id, p.status, p.created_at) for p in first] == [
        ("discord:0", "pending", NOW), ("discord:1", "pending", NOW), ("discord:2", "pending", NOW)]
    again = await posts.claim_many(db, [
        Claim("discord:1", "discord:11", DAY, "digest", "new-key"),  # the server's day is taken
        Claim("discord:9", "discord:90", DAY, "note", "k0"),  # the key is taken
        Claim("discord:3", "discord:30", DAY, "none", "k3", status="skipped", reason="no digest"),
        Claim("discord:3", "discord:31", DAY, "none", "k4")], now=NOW)  # twice in one batch: the first wins
    assert [None if p is None else (p.guild_id, p.status, p.reason) for p in again] == [
        None, None, ("discord:3", "skipped", "no digest"), None]
    assert await posts.claim_many(db, []) == []


async def test_update_rows_sets_each_row_only_while_its_status_is_expected(db: Database) -> None:
    a, b, c = await rows(db, 3)
    await posts.update_post(db, c.id, status="sent")
    later = NOW + dt.timedelta(minutes=1)
    changed = await posts.update_posts(db, [
        RowUpdate(a.id, {"status": "sending", "attempts": 1, "next_attempt_at": None}, ("pending",)),
        RowUpdate(b.id, {"status": "sending", "attempts": 1, "next_attempt_at": None}, ("pending",)),
        RowUpdate(c.id, {"status": "sending", "attempts": 1, "next_attempt_at": None}, ("pending",)),
        RowUpdate(a.id, {"status": "sent", "message_id": "m1", "reason": None}),  # a's second update, after its first
        RowUpdate(b.id, {"next_attempt_at": later}, at=later),
    ], now=NOW)
    assert changed == {a.id, b.id}
    got = {p.id: p for p in await posts.get_posts(db, [a.id, b.id, c.id])}
    assert (got[a.id].status, got[a.id].attempts, got[a.id].message_id) == ("sent", 1, "m1")
    assert (got[b.id].status, got[b.id].next_attempt_at, got[b.id].updated_at) == ("sending", later, later)
    assert got[c.id].status == "sent" and got[c.id].attempts == 0


async def test_update_rows_refuses_columns_it_does_not_own(db: Database) -> None:
    [a] = await rows(db, 1)
    with pytest.raises(ValueError, match="guild_id"):
        await posts.update_posts(db, [RowUpdate(a.id, {"guild_id": "discord:2"})])


async def test_concurrent_updates_share_transactions_and_each_caller_learns_its_outcome(db: Database) -> None:
    claimed = await rows(db, 20)
    await posts.update_post(db, claimed[0].id, status="sending")  # taken by another sender
    writer = GroupWriter(db, "posts", ["status", "attempts"])
    outcomes = await asyncio.gather(*(writer.update(p.id, expect="pending", status="sending", attempts=1, now=NOW)
                                      for p in claimed))
    assert outcomes == [False] + [True] * 19
    assert writer.transactions == 1
    assert {p.status for p in await posts.posts_in_status(db, ["sending"])} == {"sending"}
    assert len(await posts.posts_in_status(db, ["sending"])) == 20


async def test_a_failed_batch_fails_each_of_its_callers_and_the_writer_goes_on(db: Database) -> None:
    [a, b] = await rows(db, 2)
    writer = GroupWriter(db, "posts", ["status"])
    await db.execute("CREATE TRIGGER no_sending BEFORE UPDATE OF status ON posts WHEN NEW.status = 'sending'"
                     " BEGIN SELECT RAISE(ABORT, 'refused'); END")
    results = await asyncio.gather(writer.update(a.id, status="sending"), writer.update(b.id, status="sending"),
                                   return_exceptions=True)
    assert [str(r) for r in results] == ["refused", "refused"]
    assert [p.status for p in await posts.get_posts(db, [a.id, b.id])] == ["pending", "pending"]  # nothing written
    assert await writer.update(a.id, status="failed")


async def test_starting_a_planned_row_marks_the_next_few_in_the_same_transaction(db: Database) -> None:
    claimed = await rows(db, 8)
    await posts.update_post(db, claimed[2].id, status="sending")  # taken by another process
    starter = posts.post_starter(db, ahead=4)
    starter.plan([(p.id, p.attempts) for p in claimed])
    assert await starter.start(claimed[0].id, 0, NOW)
    after_first = {p.id: (p.status, p.attempts) for p in await posts.get_posts(db, [p.id for p in claimed])}
    assert [after_first[p.id] for p in claimed] == [("sending", 1), ("sending", 1), ("sending", 0), ("sending", 1)] + [
        ("pending", 0)] * 4  # rows 0-3 in one go; row 2 was not ours
    assert await starter.start(claimed[1].id, 0, NOW) and not await starter.start(claimed[2].id, 0, NOW)
    assert await starter.start(claimed[5].id, 0, NOW)  # out of order: that row and the three after it
    assert [p.status for p in await posts.get_posts(db, [p.id for p in claimed])] == ["sending"] * 4 + [
        "pending", "sending", "sending", "sending"]
