"""What the title look-up reads and keeps, on both backends: titles, the change log, a hit's
details, the snapshot."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import lookup
from storage.db import Database
from storage.lookup import SNAPSHOT_CHUNK_BYTES, MatchDetails, TitleChanges, TitleRow
from tests.storage.archive_seed import digest, load, rec

pytestmark = pytest.mark.both_backends

D1, D2 = dt.date(2025, 9, 8), dt.date(2025, 9, 9)


async def sample(db: Database) -> list[int]:
    await load(db, digest([rec("Alpha", "2509.00001", upvotes=3, published=dt.date(2025, 9, 1)),
                           rec("Beta", "2509.00002")], D1),
               digest([rec("Beta", "2509.00002", upvotes=9), rec("Gamma", None)], D2))
    rows = await lookup.titles_after(db, 0, 10)
    return [r.paper_id for r in rows]


async def test_titles_after_and_by_id(db: Database) -> None:
    a, b, c = await sample(db)
    assert await lookup.titles_after(db, 0, 10) == [TitleRow(a, "Alpha", D1), TitleRow(b, "Beta", D1),
                                                    TitleRow(c, "Gamma", D2)]
    assert [r.paper_id for r in await lookup.titles_after(db, a, 1)] == [b]
    assert await lookup.titles_after(db, c, 10) == []
    assert [r.title for r in await lookup.titles_by_id(db, [c, 10_000, a])] == ["Alpha", "Gamma"]
    assert await lookup.titles_by_id(db, []) == []


async def test_the_change_log_records_title_changes_and_deletions(db: Database) -> None:
    a, b, c = await sample(db)
    start = await lookup.last_title_change(db)
    assert await lookup.title_changes_after(db, start, up_to_id=c) == TitleChanges(0, 0, [])
    await db.execute("UPDATE papers SET abstract = 'Other words.'")  # not a title: not logged
    assert await lookup.title_changes_after(db, start, up_to_id=c) == TitleChanges(0, 0, [])
    await db.execute(f"UPDATE papers SET title = 'Beta, revised' WHERE id = {b}")  # noqa: S608
    await db.execute(f"DELETE FROM papers WHERE id = {c}")  # noqa: S608
    changes = await lookup.title_changes_after(db, start, up_to_id=c)
    assert changes.paper_ids == [b, c] and start < changes.first < changes.last
    assert await lookup.last_title_change(db) == changes.last
    # Only the papers an index has passed: it finds the others by id.
    assert (await lookup.title_changes_after(db, start, up_to_id=b)).paper_ids == [b]
    assert (await lookup.title_changes_after(db, changes.first, up_to_id=c)).paper_ids == [c]
    await lookup.prune_title_changes(db, changes.first)
    assert await lookup.oldest_title_change(db) == changes.last
    assert (await lookup.title_changes_after(db, 0, up_to_id=c)).paper_ids == [c]
    assert await lookup.title_changes_after(db, changes.last, up_to_id=c) == TitleChanges(0, 0, [])
    assert await lookup.titles_by_id(db, [a, b, c]) == [TitleRow(a, "Alpha", D1), TitleRow(b, "Beta, revised", D1)]


async def test_match_details_and_dates(db: Database) -> None:
    a, b, c = await sample(db)
    details = await lookup.match_details(db, [a, b, c, 10_000])
    assert details == {a: MatchDetails("Alpha", "2509.00001", dt.date(2025, 9, 1), 1, 3),
                       b: MatchDetails("Beta", "2509.00002", None, 2, 9),
                       c: MatchDetails("Gamma", None, None, 1, 0)}
    assert await lookup.match_details(db, []) == {}
    assert await lookup.paper_dates(db, [a, c, 10_000]) == {a: (dt.date(2025, 9, 1), D1), c: (None, D2)}


async def test_snapshot_round_trip_in_chunks(db: Database) -> None:
    assert await lookup.load_snapshot(db) is None
    big = bytes(range(256)) * (SNAPSHOT_CHUNK_BYTES // 256) + b"tail"
    parts = {"meta": b'{"format": 1}', "blob": big, "empty": b""}
    assert await lookup.save_snapshot(db, parts) == len(big) + 13
    assert await lookup.load_snapshot(db) == parts
    await lookup.save_snapshot(db, {"meta": b"2"})  # replaces every part
    assert await lookup.load_snapshot(db) == {"meta": b"2"}
    await db.execute("DELETE FROM title_snapshot")
    assert await lookup.load_snapshot(db) is None
