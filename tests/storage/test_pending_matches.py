"""Digests awaiting subscription matching: written with the digest, moved on batch by batch, and the
(user, paper) check a re-run batch relies on, on a real temporary database."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import notifications as notification_repo
from storage import pending_matches as repo
from storage.db import Database
from storage.loader import Loader
from storage.notifications import Notification, QueuedPaper
from storage.records import LoadResult, PaperRecord, ParsedDigest
from tests.storage import raw

DAY = dt.date(2025, 9, 9)
NOW = dt.datetime(2025, 9, 9, 8, tzinfo=dt.UTC)
PAPERS = [PaperRecord("One", "a", "2501.1"), PaperRecord("Two", "b", "2501.2")]


async def mark(tx: Database, result: LoadResult) -> None:
    await repo.add(tx, result.digest_id, result.paper_ids, now=NOW)


async def load_marked(db: Database) -> LoadResult:
    return await Loader(db, after_load=[mark]).load(ParsedDigest("hf-daily", DAY, "hf-api", PAPERS))


@pytest.mark.both_backends
async def test_the_marker_is_written_in_the_digests_own_transaction(db: Database) -> None:
    result = await load_marked(db)
    [pending] = await repo.pending(db)
    assert (pending.digest_id, pending.paper_ids, pending.done_through, pending.created_at) == (
        result.digest_id, result.paper_ids, None, NOW)


@pytest.mark.both_backends
async def test_a_load_that_fails_after_the_marker_leaves_neither_digest_nor_marker(db: Database) -> None:
    async def boom(tx: Database, result: LoadResult) -> None:
        raise RuntimeError("disk trouble after the marker")

    with pytest.raises(RuntimeError):
        await Loader(db, after_load=[mark, boom]).load(ParsedDigest("hf-daily", DAY, "hf-api", PAPERS))
    assert await repo.pending(db) == []
    assert await db.fetchall("SELECT id FROM digests") == []


@pytest.mark.both_backends
async def test_advance_never_moves_back_and_finish_forgets(db: Database) -> None:
    await load_marked(db)
    [pending] = await repo.pending(db)
    for user in ("console:b", "console:a"):  # a slower second process finishing an earlier batch
        async with db.atomic() as tx:
            await repo.advance(tx, pending.id, user)
    assert [p.done_through for p in await repo.pending(db)] == ["console:b"]
    async with db.atomic() as tx:
        await repo.finish(tx, pending.id)
        await repo.finish(tx, pending.id)  # twice (two processes): harmless
        await repo.advance(tx, pending.id, "console:c")  # after the row went: harmless
    assert await repo.pending(db) == []


@pytest.mark.both_backends
async def test_deleting_the_digest_deletes_its_marker(db: Database) -> None:
    result = await load_marked(db)
    await raw.execute(db, "DELETE FROM digests WHERE id = ?", result.digest_id)
    assert await repo.pending(db) == []


@pytest.mark.both_backends
async def test_a_batch_run_again_finds_its_users_pairs_and_only_theirs(db: Database) -> None:
    result = await load_marked(db)
    ids = list(result.paper_ids)

    def note(user: str) -> Notification:
        return Notification(user, "direct", tuple(QueuedPaper(i, f"paper {i}", ("t",), ("w",)) for i in ids))

    async with db.atomic() as tx:
        assert await notification_repo.already_notified(tx, ids, ["console:a", "console:b"]) == set()
        await notification_repo.queue(tx, result.digest_id, [note("console:a"), note("console:b")], now=NOW)
    async with db.atomic() as tx:  # the same batch again, as after a crash before its marker moved
        done = await notification_repo.already_notified(tx, ids, ["console:a"])
    assert done == {("console:a", ids[0]), ("console:a", ids[1])}
    async with db.atomic() as tx:
        assert await notification_repo.already_notified(tx, ids[:1], ["console:c", "console:b"]) == {
            ("console:b", ids[0])}
