"""Reading digests back, on both backends: the list, finding a day, entries, the archive's stamp."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import digests as digest_repo
from storage.db import Database
from tests.storage.archive_seed import digest, load, rec

pytestmark = pytest.mark.both_backends

D1, D2 = dt.date(2025, 9, 8), dt.date(2025, 9, 9)


async def sample(db: Database) -> None:
    await load(db,
               digest([rec("Alpha", "2509.00001"), rec("Beta", "2509.00002")], D1),
               digest([rec("Beta", "2509.00002", upvotes=5, comments=1), rec("Gamma", "2509.00003")], D2),
               digest([rec("Delta", "2509.00004"), rec("Epsilon", "2509.00005")], D2, source="arxiv-rss:cs.LG",
                      fmt="arxiv-rss"),
               digest([], D2, source="arxiv-api", fmt="arxiv-api"),
               digest([rec("Zeta", "2509.00006")], D1, source="arxiv-snapshot", fmt="arxiv-snapshot"))


async def test_list_newest_first_then_by_source(db: Database) -> None:
    await sample(db)
    listed = await digest_repo.list_digests(db)
    assert [(d.date, d.source, d.papers) for d in listed] == [
        (D2, "arxiv-api", 0), (D2, "arxiv-rss:cs.LG", 2), (D2, "hf-daily", 2),
        (D1, "arxiv-snapshot", 1), (D1, "hf-daily", 2)]
    assert [d.kind for d in listed] == ["daily", "daily", "daily", "archive", "daily"]
    assert [d.source for d in await digest_repo.list_digests(db, limit=2)] == ["arxiv-api", "arxiv-rss:cs.LG"]
    assert [d.date for d in await digest_repo.list_digests(db, source="hf-daily")] == [D2, D1]
    assert [d.source for d in await digest_repo.list_digests(db, archive_imports=False)] == [
        "arxiv-api", "arxiv-rss:cs.LG", "hf-daily", "hf-daily"]
    assert await digest_repo.count_archive_days(db) == 1
    assert await digest_repo.count_archive_days(db, source="hf-daily") == 0
    one = listed[2]
    assert await digest_repo.get_digest(db, one.id) == one
    assert one.fetched_at.tzinfo is not None and one.updated_at >= one.fetched_at
    assert await digest_repo.get_digest(db, 10_000) is None


async def test_find_digest_the_largest_of_a_day_unless_named(db: Database) -> None:
    assert await digest_repo.find_digest(db) is None
    await sample(db)
    latest = await digest_repo.find_digest(db)
    # Two digests of two papers on D2: the tie goes by source name.
    assert latest is not None and (latest.date, latest.source) == (D2, "arxiv-rss:cs.LG")
    found = await digest_repo.find_digest(db, date=D1)
    assert found is not None and found.source == "hf-daily"
    found = await digest_repo.find_digest(db, source="hf-daily")
    assert found is not None and found.date == D2
    assert await digest_repo.find_digest(db, source="arxiv-api") is None  # empty: not what gets posted
    empty = await digest_repo.find_digest(db, source="arxiv-api", empty=True)
    assert empty is not None and empty.papers == 0
    assert await digest_repo.find_digest(db, date=dt.date(2020, 1, 1), empty=True) is None


async def test_find_digest_prefers_a_daily_digest_to_a_larger_archive_day(db: Database) -> None:
    """The latest digest is what the daily post shows: the day's hf-daily listing, not the arXiv
    snapshot's larger day of first versions."""
    await load(db, digest([rec("Alpha", "2509.00001"), rec("Beta", "2509.00002"), rec("Gamma", "2509.00003")], D2,
                          source="arxiv-snapshot", fmt="arxiv-snapshot"),
               digest([rec("Delta", "2509.00004")], D2))
    for found in (await digest_repo.find_digest(db), await digest_repo.find_digest(db, date=D2)):
        assert found is not None and (found.source, found.papers) == ("hf-daily", 1)
    snapshot = await digest_repo.find_digest(db, date=D2, source="arxiv-snapshot")
    assert snapshot is not None and snapshot.kind == "archive"


async def test_entries_in_listed_order_and_papers_seen_before(db: Database) -> None:
    await sample(db)
    d2 = await digest_repo.find_digest(db, date=D2, source="hf-daily")
    assert d2 is not None
    entries = await digest_repo.digest_entries(db, d2.id)
    assert [(e.paper.title, e.position, e.upvotes, e.comments) for e in entries] == [
        ("Beta", 0, 5, 1), ("Gamma", 1, None, None)]
    assert entries[0].paper.arxiv_id == "2509.00002"
    assert await digest_repo.papers_seen_before(db, d2) == 1  # Beta, listed on D1
    d1 = await digest_repo.find_digest(db, date=D1, source="hf-daily")
    assert d1 is not None and await digest_repo.papers_seen_before(db, d1) == 0
    assert await digest_repo.digest_entries(db, 10_000) == []


async def test_archive_version_moves_with_loads(db: Database) -> None:
    assert await digest_repo.archive_version(db) == (0, "", 0)
    await load(db, digest([rec("Alpha", "2509.00001")], D1))
    first = await digest_repo.archive_version(db)
    assert first[0] == 1 and first[1] != "" and first[2] >= 1
    await load(db, digest([rec("Beta", "2509.00002")], D2))
    second = await digest_repo.archive_version(db)
    assert second[0] == 2 and second[2] > first[2]
