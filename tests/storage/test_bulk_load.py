"""Bulk loads (`Loader.bulk`, runs indexed for search per chunk) keep search exact and the title
index in place: new, updated and merged papers are all found, and the index is back afterwards."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from storage.sqlite.loader import STORED_IDS

D1, D2 = dt.date(2021, 3, 1), dt.date(2021, 3, 2)
TITLE_INDEX = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'papers_title_key'"


def paper(arxiv_id: str | None, title: str, abstract: str) -> PaperRecord:
    return PaperRecord(title=title, abstract=abstract, arxiv_id=arxiv_id, categories=["cs.LG"])


def snapshot(day: dt.date, *papers: PaperRecord) -> ParsedDigest:
    return ParsedDigest("arxiv-snapshot", day, "arxiv-snapshot", list(papers), complete=False)


async def found(db: Database, query: str) -> list[str | None]:
    rows = await db.fetchall(
        "SELECT p.arxiv_id FROM papers_fts JOIN papers AS p ON p.id = papers_fts.rowid"
        " WHERE papers_fts MATCH ? ORDER BY p.arxiv_id", (query,))
    return [r[0] for r in rows]


async def fts_in_sync(db: Database) -> None:
    # rank 1: also compares the index with the current contents of `papers`, row by row.
    await db.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)")


async def test_a_bulk_run_with_updates_and_merges_keeps_search_exact(db: Database) -> None:
    loader = Loader(db)
    await loader.load(snapshot(D1, paper("2103.00001", "Walrus optimisers", "On blubbery gradient descent.")))
    # A paper known by title only, adopted by the record with its id below (a merge).
    await loader.load(ParsedDigest("hf-daily", D1, "hf-page",
                                   [paper(None, "Narwhal attention", "Old abstract about unicorns.")]))
    before = await db.fetchone(TITLE_INDEX)

    async with loader.bulk(1_000_000):
        first = await loader.load_many([
            snapshot(D1, paper("2103.00002", "Pangolin transformers", "Scaly tokens everywhere."),
                     paper("2103.00003", "Axolotl regression", "Gills and least squares.")),
            snapshot(D2, paper("2103.00001", "Walrus optimisers revisited", "On ivory gradient descent.")),
        ])
        second = await loader.load_many([
            snapshot(D2, paper("2103.00004", "Narwhal attention", "New abstract about tusks."),
                     paper("2103.00005", "Quokka embeddings", "Smiling vectors.")),
        ])

    assert [(r.new, r.updated, r.merged) for r in first] == [(2, 0, 0), (0, 1, 0)]
    assert [(r.new, r.merged) for r in second] == [(1, 1)]
    await fts_in_sync(db)
    assert await found(db, "pangolin") == ["2103.00002"]
    assert await found(db, "quokka OR axolotl") == ["2103.00003", "2103.00005"]
    assert await found(db, "ivory") == ["2103.00001"] and await found(db, "blubbery") == []  # updated
    assert await found(db, "tusks") == ["2103.00004"] and await found(db, "unicorns") == []  # merged
    assert await db.fetchall("SELECT * FROM papers_fts_deferred") == []
    after = await db.fetchone(TITLE_INDEX)
    assert before is not None and after is not None and after[0] == before[0]


async def test_the_title_index_comes_back_when_a_bulk_load_fails(db: Database) -> None:
    loader = Loader(db)
    with pytest.raises(RuntimeError):
        async with loader.bulk(1_000):
            await loader.load_many([snapshot(D1, paper("2103.00001", "Walrus optimisers", "Tusks."))])
            raise RuntimeError("the parsing process failed")
    assert await db.fetchone(TITLE_INDEX) is not None
    assert await found(db, "walrus") == ["2103.00001"]


async def test_a_title_look_up_after_a_killed_bulk_load_rebuilds_the_title_index(db: Database) -> None:
    loader = Loader(db)
    await loader.load(snapshot(D1, paper("2103.00001", "Walrus optimisers", "Tusks.")))
    await db.execute("DROP INDEX papers_title_key")  # what a bulk load killed mid-way leaves
    result = await loader.load(ParsedDigest("hf-daily", D2, "hf-page", [paper(None, "Walrus Optimisers", "")]))
    assert result.new == 0 and result.papers == 1  # found by its title: the same paper
    assert await db.fetchone(TITLE_INDEX) is not None


async def test_a_small_load_into_a_large_archive_keeps_the_title_index(db: Database) -> None:
    loader = Loader(db)
    await loader.load_many([snapshot(D1, *(paper(f"2103.{i:05d}", f"Paper number {i}", "x") for i in range(40)))])
    async with loader.bulk(5):  # far less than the archive: updating the index costs less
        await loader.load_many([snapshot(D2, paper("2103.99999", "One more paper", "y"))])
        assert await db.fetchone(TITLE_INDEX) is not None
    await fts_in_sync(db)


async def plan_of_the_stored_ids_check(db: Database) -> str:
    rows = await db.fetchall(f"EXPLAIN QUERY PLAN {STORED_IDS}", (json.dumps(["2101.00001", "2101.00002"]),))
    return " / ".join(r["detail"] for r in rows)


async def test_statistics_refreshed_after_a_load_make_the_stored_ids_check_use_the_index(db: Database) -> None:
    loader = Loader(db)
    # A small archive of papers without an arXiv id, analysed (as closing the database may do): its
    # statistics say that an arXiv id matches every paper.
    await loader.load(ParsedDigest("hf-daily", D1, "hf-page",
                                   [paper(None, f"Untitled idea {i}", "Words.") for i in range(150)]))
    await db.execute("ANALYZE")
    # A snapshot load, interrupted before anything refreshed the statistics.
    days = [[paper(f"2101.{n:05d}", f"Paper {n}", "Words.") for n in range(i, i + 100)] for i in range(0, 3000, 100)]
    await loader.load_many([snapshot(D1 + dt.timedelta(days=d), *papers) for d, papers in enumerate(days)])
    stale = await plan_of_the_stored_ids_check(db)
    assert stale.startswith("SCAN p")  # every paper scanned, for every id: what made a re-run crawl

    await loader.refresh_statistics()
    rows = {r["idx"]: r["stat"] for r in await db.fetchall("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'papers'")}
    assert int(rows["sqlite_autoindex_papers_1"].split()[0]) > 1000  # the arXiv id index: thousands of rows now
    planned = await plan_of_the_stored_ids_check(db)
    assert "SEARCH p USING COVERING INDEX sqlite_autoindex_papers_1 (arxiv_id=?)" in planned
    assert {r["tbl"] for r in await db.fetchall("SELECT DISTINCT tbl FROM sqlite_stat1")} >= {
        "papers", "digests", "digest_entries"}
