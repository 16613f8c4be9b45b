"""The notification log: queueing inside a transaction, exactly-once per (user, paper), compare-and-set."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import notifications as repo
from storage.db import Database
from storage.loader import Loader
from storage.notifications import Notification, QueuedPaper
from storage.records import PaperRecord, ParsedDigest

DAY = dt.date(2025, 9, 9)


async def stored(db: Database) -> tuple[int, list[int]]:
    result = await Loader(db).load(ParsedDigest("hf-daily", DAY, "hf-api", [
        PaperRecord("One", "a", "2501.1"), PaperRecord("Two", "b", "2501.2")]))
    return result.digest_id, list(result.paper_ids)


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
