"""The notification log: queueing inside a transaction, exactly-once per (user, paper), compare-and-set."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage import notifications as repo
from storage.backends import open_database
from storage.db import Database
from storage.notifications import Notification, QueuedPaper
from tests.storage.raw import insert_digest

pytestmark = pytest.mark.both_backends

DAY = dt.date(2025, 9, 9)
NOW = dt.datetime(2025, 9, 9, 8, tzinfo=dt.UTC)


async def stored(db: Database) -> tuple[int, list[int]]:
    """A digest and the ids of two papers (the log keeps no reference to the papers themselves)."""
    return await insert_digest(db, "hf-daily", DAY, papers=2), [101, 102]


def note(user: str, ids: list[int], kind: str = "direct") -> Notification:
    return Notification(user, kind, tuple(QueuedPaper(i, f"paper {i}", ("t",), ("w",)) for i in ids))


async def test_queue_writes_pending_rows_with_their_papers(db: Database) -> None:
    digest_id, ids = await stored(db)
    async with db.atomic() as conn:
        made = await repo.queue(conn, digest_id, [note("console:a", ids), note("console:b", ids[:1], "channel")])
    rows = await repo.list_notifications(db)
    assert [r.id for r in rows] == made[::-1]
    a = await repo.get_notification(db, made[0])
    assert a is not None
    assert (a.status, a.kind, a.digest_date, a.digest_source) == ("pending", "direct", DAY, "hf-daily")
    assert a.papers == (QueuedPaper(ids[0], f"paper {ids[0]}", ("t",), ("w",)),
                        QueuedPaper(ids[1], f"paper {ids[1]}", ("t",), ("w",)))
    async with db.atomic() as conn:
        assert await repo.already_notified(conn, ids) == {("console:a", ids[0]), ("console:a", ids[1]),
                                                           ("console:b", ids[0])}


async def test_a_rolled_back_load_leaves_no_notification(db: Database) -> None:
    digest_id, ids = await stored(db)
    with pytest.raises(RuntimeError):
        async with db.atomic() as conn:
            await repo.queue(conn, digest_id, [note("console:a", ids)])
            raise RuntimeError("crash before commit")
    assert await repo.list_notifications(db) == []


async def test_compare_and_set_and_filters(db: Database) -> None:
    digest_id, ids = await stored(db)
    async with db.atomic() as conn:
        [made] = await repo.queue(conn, digest_id, [note("console:a", ids)])
    assert await repo.update_notification(db, made, expect="pending", status="sending", attempts=1)
    assert not await repo.update_notification(db, made, expect="pending", status="sending")
    await repo.update_notification(db, made, status="failed", reason="dm_closed")
    assert [d.id for d in await repo.list_notifications(db, digest_date=DAY, status="failed")] == [made]
    assert await repo.list_notifications(db, digest_date=DAY + dt.timedelta(days=1)) == []
    assert await repo.list_notifications(db, status="sent") == []
    with pytest.raises(ValueError, match="not a deliveries column"):
        await repo.update_notification(db, made, user_id="console:b")


async def test_notification_of_a_paper(db: Database) -> None:
    digest_id, ids = await stored(db)
    async with db.atomic() as conn:
        [made] = await repo.queue(conn, digest_id, [note("console:a", ids)])
    found = await repo.notification_of(db, "console:a", ids[1])
    assert found is not None and found[0].id == made and found[2] == 1
    assert await repo.notification_of(db, "console:b", ids[1]) is None


async def test_ids_ascend_in_the_order_given_and_a_pair_is_logged_once(db: Database) -> None:
    digest_id, ids = await stored(db)
    async with db.atomic() as tx:
        first = await repo.queue(tx, digest_id, [note(f"console:{u}", ids[:1]) for u in "cab"], now=NOW)
    async with db.atomic() as tx:
        second = await repo.queue(tx, digest_id, [note("console:a", ids)], now=NOW)
    assert first == sorted(first) and second[0] > first[-1]
    assert [n.user_id for n in await repo.notifications_in_status(db, ["pending"])] == [
        "console:c", "console:a", "console:b", "console:a"]
    assert await repo.count_by_status(db) == {"pending": 4}
    again = await repo.get_notification(db, second[0])
    assert again is not None and [p.paper_id for p in again.papers] == [ids[1]]  # ids[0]: already told
    assert again.created_at == NOW and again.next_attempt_at is None


async def test_batched_updates_keep_types_order_and_compare_and_set(db: Database) -> None:
    digest_id, ids = await stored(db)
    async with db.atomic() as tx:
        a, b = await repo.queue(tx, digest_id, [note("console:a", ids), note("console:b", ids)], now=NOW)
    later = NOW + dt.timedelta(minutes=5, microseconds=123)
    writer = repo.notification_writer(db)
    results = [writer.submit(a, expect="pending", status="sending", attempts=1, now=NOW),
               writer.submit(b, expect="sent", status="failed", now=NOW),  # not 'sent': unchanged
               writer.submit(a, status="pending", next_attempt_at=later, error="429", now=later)]
    await writer.flush()
    assert [r.result() for r in results] == [True, False, True]
    got = await repo.get_notification(db, a)
    assert got is not None
    assert (got.status, got.attempts, got.error) == ("pending", 1, "429")
    assert got.next_attempt_at == got.updated_at == later.replace(microsecond=0)
    untouched = await repo.get_notification(db, b)
    assert untouched is not None and (untouched.status, untouched.updated_at) == ("pending", NOW)


async def test_two_processes_claiming_the_same_notifications_take_each_once(db: Database, db_address: str) -> None:
    digest_id, ids = await stored(db)
    async with db.atomic() as tx:
        made = await repo.queue(tx, digest_id, [note(f"console:u{i:02}", ids) for i in range(40)], now=NOW)
    other = await open_database(db_address)
    try:
        async def claim_all(handle: Database, order: list[int]) -> set[int]:
            starter = repo.notification_starter(handle, ahead=5)
            starter.plan([(i, 0) for i in order])
            taken = await asyncio.gather(*(starter.start(i, 0, NOW) for i in order))
            return {i for i, ok in zip(order, taken, strict=True) if ok}

        mine, theirs = await asyncio.gather(claim_all(db, made), claim_all(other, made[::-1]))
    finally:
        await other.close()
    assert mine | theirs == set(made) and not mine & theirs
    rows = await repo.notifications_in_status(db, ["sending"])
    assert len(rows) == len(made) and {r.attempts for r in rows} == {1}


async def test_two_processes_queueing_the_same_batch_queue_it_once(db: Database, db_address: str) -> None:
    digest_id, ids = await stored(db)
    users = [f"console:u{i}" for i in range(5)]

    async def batch(handle: Database) -> list[int]:
        async with handle.atomic() as tx:
            done = await repo.already_notified(tx, ids, users)
            wanted = [note(u, [i for i in ids if (u, i) not in done]) for u in users]
            await asyncio.sleep(0.05)  # both have read before either writes, unless reads wait
            return await repo.queue(tx, digest_id, [n for n in wanted if n.papers], now=NOW)

    other = await open_database(db_address)
    try:
        made = await asyncio.gather(batch(db), batch(other))
    finally:
        await other.close()
    assert sorted(len(m) for m in made) == [0, len(users)]
    rows = await repo.list_notifications(db)
    assert sorted(r.user_id for r in rows) == users and all(len(r.papers) == 2 for r in rows)
