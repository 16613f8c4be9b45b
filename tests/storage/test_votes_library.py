"""Votes (one per member per paper per server) and libraries, the same on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage import library, votes
from storage.db import Database
from storage.loader import Loader
from tests.storage import raw
from tests.storage.archive_seed import digest, rec

pytestmark = pytest.mark.both_backends

T0 = dt.datetime(2025, 9, 10, 12, 0, tzinfo=dt.UTC)
G, H = "discord:1", "discord:2"


async def _papers(db: Database) -> list[int]:
    await Loader(db).load(digest([rec("Alpha", "2509.00001", upvotes=50), rec("Beta", "2509.00002", upvotes=5),
                                  rec("Gamma", "2509.00003")], dt.date(2025, 9, 9)))
    await Loader(db).load(digest([rec("Delta", "2509.00004", upvotes=900)], dt.date(2025, 8, 1)))
    rows = await raw.rows(db, "SELECT id FROM papers ORDER BY arxiv_id")
    return [int(r[0]) for r in rows]


async def test_a_press_votes_and_the_next_takes_it_back(db: Database) -> None:
    a, *_ = await _papers(db)
    first = await votes.toggle(db, G, "discord:10", a, now=T0)
    assert (first.voted, first.changed, first.count) == (True, True, 1)
    other = await votes.toggle(db, G, "discord:11", a, now=T0)
    assert other.count == 2
    again = await votes.toggle(db, G, "discord:10", a, now=T0)
    assert (again.voted, again.changed, again.count) == (False, True, 1)
    # Another server counts its own votes.
    assert (await votes.toggle(db, H, "discord:10", a, now=T0)).count == 1
    assert await votes.count(db, G, a) == 1
    # Asking for a state already there changes nothing.
    assert await votes.toggle(db, G, "discord:11", a, now=T0, want=True) == votes.VoteOutcome(True, False, 1)
    assert await votes.toggle(db, G, "discord:12", a, now=T0, want=False) == votes.VoteOutcome(False, False, 1)


async def test_concurrent_presses_store_one_vote_per_member(db: Database) -> None:
    a, b, *_ = await _papers(db)
    # One member pressing "vote" many times at once (double clicks, two devices): one vote.
    outcomes = await asyncio.gather(*(votes.toggle(db, G, "discord:10", a, now=T0, want=True) for _ in range(12)))
    assert sum(o.changed for o in outcomes) == 1
    assert all(o.voted for o in outcomes)
    assert await votes.count(db, G, a) == 1
    results = await asyncio.gather(*(votes.cast(db, G, "discord:10", b, now=T0) for _ in range(12)))
    assert results.count(True) == 1
    # Many members at once: each counted once.
    await asyncio.gather(*(votes.toggle(db, G, f"discord:{100 + i}", b, now=T0) for i in range(20)))
    assert await votes.count(db, G, b) == 21
    assert await votes.counts(db, G, [a, b, 999]) == {a: 1, b: 21}


async def test_top_candidates_cover_votes_and_upvotes_of_the_period(db: Database) -> None:
    a, b, c, d = await _papers(db)
    await votes.cast(db, G, "discord:10", c, now=T0)
    await votes.cast(db, G, "discord:11", c, now=T0)
    await votes.cast(db, G, "discord:10", b, now=T0 - dt.timedelta(days=40))
    await votes.cast(db, H, "discord:10", a, now=T0)
    week = await votes.top_candidates(db, G, T0 - dt.timedelta(days=7), 2)
    assert week == [votes.Candidate(a, 0, 50), votes.Candidate(b, 0, 5), votes.Candidate(c, 2, None)]
    ever = await votes.top_candidates(db, G, None, 1)
    assert ever == [votes.Candidate(b, 1, 5), votes.Candidate(c, 2, None), votes.Candidate(d, 0, 900)]
    everyone = await votes.top_candidates(db, None, T0 - dt.timedelta(days=7), 0)
    assert everyone == [votes.Candidate(a, 1, 50), votes.Candidate(c, 2, None)]


async def test_a_users_votes_newest_first(db: Database) -> None:
    a, b, c, _ = await _papers(db)
    await votes.cast(db, G, "discord:10", a, now=T0)
    await votes.cast(db, H, "discord:10", a, now=T0 + dt.timedelta(hours=2))
    await votes.cast(db, G, "discord:10", b, now=T0 + dt.timedelta(hours=1))
    await votes.cast(db, G, "discord:11", c, now=T0)
    assert await votes.voted_paper_ids(db, "discord:10") == [a, b]
    assert await votes.voted_paper_ids(db, "discord:10", guild_id=G) == [b, a]
    assert await votes.voted_paper_ids(db, "discord:10", since=T0 + dt.timedelta(minutes=30)) == [a, b]
    assert await votes.voted_paper_ids(db, "discord:99") == []


async def test_library_saves_lists_and_removes(db: Database) -> None:
    a, b, c, _ = await _papers(db)
    assert await library.save(db, "console:alice", a, now=T0) is True
    assert await library.save(db, "console:alice", a, now=T0) is False
    await library.save(db, "console:alice", b, now=T0 + dt.timedelta(minutes=1))
    await library.save(db, "console:alice", c, now=T0 + dt.timedelta(minutes=1))
    await library.save(db, "console:bob", c, now=T0)
    assert await library.saved_paper_ids(db, "console:alice") == [c, b, a]
    page = await library.saved(db, "console:alice", limit=1, offset=1)
    assert [(s.paper_id, s.saved_at) for s in page] == [(b, T0 + dt.timedelta(minutes=1))]
    assert await library.size(db, "console:alice") == 3
    assert await library.is_saved(db, "console:bob", c) and not await library.is_saved(db, "console:bob", a)
    assert await library.remove(db, "console:alice", b) is True
    assert await library.remove(db, "console:alice", b) is False
    assert await library.saved_paper_ids(db, "console:alice") == [c, a]
    saves = await asyncio.gather(*(library.save(db, "console:dave", a, now=T0) for _ in range(10)))
    assert saves.count(True) == 1


async def test_votes_and_saves_follow_a_paper_into_its_twin(db: Database) -> None:
    loader = Loader(db)
    await loader.load(digest([rec("Twin Title", "2501.00001")], dt.date(2025, 9, 9), source="a"))
    keeper = await raw.value(db, "SELECT id FROM papers WHERE arxiv_id = '2501.00001'")
    await raw.execute(
        db, "INSERT INTO papers(title_key, title, abstract, first_listed, created_at, updated_at)"
        " VALUES ('twin title', 'Twin Title', 'x', '2025-01-01', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')")
    twin = await raw.value(db, "SELECT id FROM papers WHERE arxiv_id IS NULL")
    await votes.cast(db, G, "discord:10", twin, now=T0)
    await votes.cast(db, G, "discord:10", keeper, now=T0)
    await votes.cast(db, G, "discord:11", twin, now=T0)
    await library.save(db, "console:alice", twin, now=T0)
    merged = await loader.load(digest([rec("Twin Title", "2501.00001")], dt.date(2025, 9, 10), source="b"))
    assert merged.merged == 1
    assert await votes.count(db, G, keeper) == 2
    assert await library.saved_paper_ids(db, "console:alice") == [keeper]


async def test_saves_within_one_second_list_in_the_order_they_were_made(db: Database) -> None:
    a, b, c, _ = await _papers(db)
    for n, paper in enumerate((c, a, b)):
        await library.save(db, "console:alice", paper, now=T0 + dt.timedelta(microseconds=1000 * n))
    assert await library.saved_paper_ids(db, "console:alice") == [b, a, c]
    newest = (await library.saved(db, "console:alice", limit=1))[0]
    assert newest.saved_at == T0 + dt.timedelta(microseconds=2000)
