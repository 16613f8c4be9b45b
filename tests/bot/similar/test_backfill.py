"""The similarity index catches up by itself and keeps its document frequencies exact, on both
backends: a database with papers but no vectors is weighed by the upkeep's background work (the
newest papers first), which stops where the upkeep lease is lost; a paper weighed again after its
text changed leaves the counts those of a fresh build; status says how far the index is."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.activity import Activity
from bot.app import App
from bot.config import ProcessSettings, Settings
from bot.processes.coordinator import Coordinator, Leased
from bot.similar import SimilarIndex, SimilarService
from bot.similar.backfill import Backfill
from bot.status.report import gather, sections
from storage import similar
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.processes import UPKEEP
from tests.bot.schedule.fakes import FakeOutbound
from tests.bot.similar.corpus import TOPICS, first_digest, second_digest
from tests.bot.similar.test_engine import by_title, topic_of
from tests.storage import raw

pytestmark = pytest.mark.both_backends

T0 = dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC)
LEASES = ProcessSettings(heartbeat_seconds=10, lease_seconds=30, forget_after_seconds=3600)


async def unindexed_archive(db: Database) -> list[int]:
    """The corpus loaded with no index listener (as before migration 0017, or by an archive import)."""
    await Loader(db).load(first_digest())
    await Loader(db).load(second_digest())
    return [int(r[0]) for r in await raw.rows(db, "SELECT id FROM papers ORDER BY id")]


async def indexed_ids(db: Database) -> set[int]:
    return {int(r[0]) for r in await raw.rows(db, "SELECT paper_id FROM similar_vectors")}


async def counts(db: Database) -> dict[str, int]:
    return {str(r[0]): int(r[1]) for r in await raw.rows(db, "SELECT term, df FROM similar_terms WHERE df > 0")}


async def fresh_counts(db: Database) -> dict[str, int]:
    """The document frequencies of a fresh build of today's texts, the same way (one load of all)."""
    for table in ("paper_terms", "similar_vectors", "similar_terms"):
        await raw.execute(db, f"DELETE FROM {table}")  # noqa: S608 - fixed names
    ids = [int(r[0]) for r in await raw.rows(db, "SELECT id FROM papers ORDER BY id")]
    await SimilarIndex(db).index(ids)
    return await counts(db)


async def until(condition: object, what: str) -> None:
    for _ in range(1000):
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_a_database_without_vectors_is_weighed_newest_first(db: Database) -> None:
    ids = await unindexed_archive(db)
    assert (await SimilarService(db).coverage()).text() == "0 of 10 papers indexed"
    backfill = Backfill(db, batch=3, pause=3600)  # one batch, then a long rest
    backfill.start()
    try:
        await until(lambda: _has(db, 3), "the first batch")
        assert await indexed_ids(db) == set(ids[-3:])
    finally:
        await backfill.stop()
    assert not backfill.running
    # Run to the end: every paper weighed, the early ones again against the whole archive.
    assert await Backfill(db, batch=3, pause=0).run_once() >= 7
    assert await indexed_ids(db) == set(ids)
    corpus = (await similar.term_stats(db, []))[1]
    assert corpus == 10
    docs = [int(r[0]) for r in await raw.rows(db, "SELECT docs FROM similar_vectors")]
    assert min(docs) >= corpus // 2  # none weighed against fewer than half of today's papers
    papers = await by_title(db)
    for title in (TOPICS["protein"][0][0], TOPICS["robots"][2][0]):
        found = await SimilarService(db).neighbours(papers[title], 2)
        assert [topic_of(m.paper.title) for m in found] == [topic_of(title)] * 2
    assert await counts(db) == await fresh_counts(db)
    assert await Backfill(db, pause=0).run_once() == 0  # nothing left


async def test_the_catch_up_waits_while_members_are_answered(db: Database) -> None:
    await unindexed_archive(db)
    activity = Activity()
    backfill = Backfill(db, activity, batch=3, pause=0)
    with activity.busy():  # a command in flight
        backfill.start()
        await asyncio.sleep(0.5)
        assert await indexed_ids(db) == set()  # no batch while it is answered
    try:
        await until(lambda: _has(db, 3), "a batch once the command was answered")
    finally:
        await backfill.stop()
    assert not backfill.running


async def test_stopping_ends_a_wait_for_quiet(db: Database) -> None:
    await unindexed_archive(db)
    activity = Activity()
    backfill = Backfill(db, activity, batch=3, pause=0)
    with activity.busy():  # a member's request that never ends
        backfill.start()
        await asyncio.sleep(0.1)
        await asyncio.wait_for(backfill.stop(), timeout=2.0)  # not after the longest wait (5 s)
    assert not backfill.running and await indexed_ids(db) == set()


async def _has(db: Database, n: int) -> bool:
    return len(await indexed_ids(db)) >= n


async def test_the_upkeep_lease_lost_stops_the_catch_up(db: Database, db_address: str) -> None:
    await unindexed_archive(db)
    async with await open_database(db_address) as other:  # a second process's handle
        await _two_processes(db, other)


async def _two_processes(db: Database, other: Database) -> None:
    now = [T0]
    a_fill, b_fill = Backfill(db, batch=2, pause=3600), Backfill(other, batch=2, pause=3600)
    a = Coordinator(db, LEASES, [Leased(UPKEEP, _start(a_fill), a_fill.stop)], clock=lambda: now[0],
                    host="alpha", pid=1000)
    b = Coordinator(other, LEASES, [Leased(UPKEEP, _start(b_fill), b_fill.stop)], clock=lambda: now[0],
                    host="beta", pid=1000)
    await a.start()
    await b.start()
    try:
        assert a_fill.running and not b_fill.running
        await until(lambda: _has(db, 2), "alpha's first batch")
        # alpha stalls past its lease: beta takes the upkeep over and goes on where alpha stopped.
        now[0] += dt.timedelta(seconds=40)
        await b.beat()
        assert b_fill.running
        await until(lambda: _has(db, 4), "beta's first batch")
        await a.beat()  # alpha finds its lease gone
        assert UPKEEP not in a.holds and not a_fill.running
        assert len(await indexed_ids(db)) == 4  # two batches of two: nothing weighed twice
    finally:
        await b.close()
        await a.close()
    assert not b_fill.running


def _start(backfill: Backfill):  # type: ignore[no-untyped-def]
    async def start() -> None:
        backfill.start()
    return start


async def test_a_changed_text_weighed_again_keeps_the_counts_exact(db: Database) -> None:
    await Loader(db, after_commit=[SimilarIndex(db).after_commit]).load(first_digest())
    papers = await by_title(db)
    paper = papers[TOPICS["protein"][0][0]]
    await raw.execute(db, "UPDATE papers SET abstract = ? WHERE id = ?",
                      "Reinforcement learning policy for legged robots in simulation with reward shaping.", paper.id)
    await raw.execute(db, "UPDATE papers SET title = ? WHERE id = ?", "Protein Robots", paper.id)  # twice
    assert (await SimilarIndex(db).index([p.id for p in papers.values()])).papers == 1
    got = await counts(db)
    assert got[""] == 9 and "protein structure" in got  # still in two other papers
    assert got == await fresh_counts(db)
    # Back to a text it had: weighed again, still exact; nothing left retired.
    await raw.execute(db, "UPDATE papers SET title = ?, abstract = ? WHERE id = ?",
                      TOPICS["protein"][0][0], TOPICS["protein"][0][1], paper.id)
    await Loader(db).load(second_digest())
    await SimilarIndex(db).index([p.id for p in papers.values()])
    await Backfill(db, pause=0).run_once()
    assert await raw.rows(db, "SELECT paper_id FROM similar_retired") == []
    assert await counts(db) == await fresh_counts(db)


async def test_status_and_similar_say_how_far_the_index_is(db: Database) -> None:
    await unindexed_archive(db)
    papers = await by_title(db)
    settings = Settings()
    shown = dict(sections(await gather(db, settings, now=T0)))
    assert shown["Similar papers"].startswith("0 of 10 papers indexed")
    # /similar on a paper not weighed yet weighs it, and says the archive is still being indexed.
    from bot.similar.render import similar_reply

    service = SimilarService(db)
    paper = papers[TOPICS["protein"][0][0]]
    found = await service.neighbours(paper)
    assert found == [] and await indexed_ids(db) == {paper.id}
    reply = similar_reply(paper, found, building=await service.coverage())
    assert "still being indexed" in reply.text and "1 of 10 papers indexed" in reply.text
    assert await Backfill(db, pause=0).catch_up(2) == 2  # by hand: the two newest of those left
    assert max(await indexed_ids(db)) == max(p.id for p in papers.values())
    await Backfill(db, pause=0).run_once()
    report = await gather(db, settings, now=T0)
    assert "Similar papers" not in dict(sections(report))
    assert report.to_json()["similar"] == {"indexed": 10, "papers": 10}


async def test_a_started_bot_holding_the_upkeep_weighs_the_archive(db: Database, db_address: str) -> None:
    ids = await unindexed_archive(db)
    settings = Settings()
    settings.database.url = db_address
    settings.fetch.enabled = False
    app = await App.open(settings, FakeOutbound(), platform="discord")
    try:
        await app.start(notify_interval=3600)
        assert app.holds == {UPKEEP} and app.backfill is not None and app.backfill.running
        await until(lambda: _has(db, len(ids)), "every paper weighed")
    finally:
        await app.close()
    assert app.backfill is not None and not app.backfill.running
