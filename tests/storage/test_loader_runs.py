"""Bulk loading of streaming batches: written together ("runs"), with the same results as one by one."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.records import LoadResult, PaperRecord, ParsedDigest
from tests.storage import raw

pytestmark = pytest.mark.both_backends

D1, D2 = dt.date(2020, 1, 6), dt.date(2020, 1, 7)


def partial(day: dt.date, *ids: str, title: str = "Paper {}") -> ParsedDigest:
    papers = [PaperRecord(title=title.format(i), abstract=f"About {i}.", arxiv_id=i, authors=["Ada Lovelace"],
                          links={"pdf": f"https://arxiv.org/pdf/{i}", "arxiv": f"https://arxiv.org/abs/{i}"},
                          categories=["cs.LG"], position=n) for n, i in enumerate(ids)]
    return ParsedDigest("arxiv-snapshot", day, "arxiv-snapshot", papers, complete=False)


def chunks() -> list[ParsedDigest]:
    return [partial(D1, "2001.00001", "2001.00002"), partial(D2, "2001.00003"),
            partial(D1, "2001.00004"),  # the same digest again in one chunk
            partial(D2, "2001.00001", title="Paper {} v2")]  # a paper again: a new run, counted updated


def counts(results: list[LoadResult]) -> list[tuple[Any, ...]]:
    return [(r.date, r.papers, r.new, r.merged, r.updated, len(r.paper_ids)) for r in results]


async def dump(db: Database) -> list[list[tuple[Any, ...]]]:
    return [await raw.rows(db, sql) for sql in (
        "SELECT arxiv_id, title, authors, links, categories, first_listed FROM papers ORDER BY arxiv_id",
        "SELECT d.date, p.arxiv_id, e.position FROM digest_entries e JOIN digests d ON d.id = e.digest_id"
        " JOIN papers p ON p.id = e.paper_id ORDER BY 1, 2",
        "SELECT date, paper_count FROM digests ORDER BY date",
    )] + [[(i,) for i in await raw.search_ids(db, "v2")]]


_second = itertools.count(1)


@pytest.fixture
async def single(db_address: str, tmp_path: Path) -> AsyncIterator[Database]:
    """Another empty database on the same backend as `db`."""
    address = str(tmp_path / "single.db")
    if db_address.startswith("postgresql://"):
        base, _, name = db_address.rpartition("/")
        address = f"{base}/{name}_single{next(_second)}"
        admin = await asyncpg.connect(db_address)
        try:
            await admin.execute(f'CREATE DATABASE "{address.rpartition("/")[2]}"')
        finally:
            await admin.close()
    database = await open_database(address)
    try:
        yield database
    finally:
        await database.close()
        if address.startswith("postgresql://"):
            admin = await asyncpg.connect(db_address)
            try:
                await admin.execute(f'DROP DATABASE "{address.rpartition("/")[2]}" WITH (FORCE)')
            finally:
                await admin.close()


async def test_a_chunk_at_once_equals_its_batches_one_by_one(db: Database, single: Database) -> None:
    together = await Loader(db).load_many(chunks())
    one_by_one = [(await Loader(single).load_many([d]))[0] for d in chunks()]
    assert counts(together) == counts(one_by_one)
    assert await dump(db) == await dump(single)
    assert counts(together)[-1][2:5] == (0, 0, 1)  # the retitled paper: updated, not new


async def test_loading_a_chunk_again_changes_nothing(db: Database) -> None:
    loader = Loader(db)
    await loader.load_many(chunks()[:3])
    again = await loader.load_many(chunks()[:3])
    assert [(r.new, r.updated) for r in again] == [(0, 0)] * 3


async def test_a_title_only_twin_is_still_adopted_in_a_bulk_load(db: Database) -> None:
    loader = Loader(db)
    await loader.load(ParsedDigest("hf-daily", D1, "hf-page", [PaperRecord(title="Paper 2001.00003", abstract="x")]))
    results = await loader.load_many(chunks()[:3])
    assert [r.merged for r in results] == [0, 1, 0]
    assert await db.fetchall("SELECT id FROM papers WHERE arxiv_id IS NULL") == []


async def _each(items: list[list[ParsedDigest]]) -> AsyncIterator[list[ParsedDigest]]:
    for item in items:
        yield item


async def _stages(db: Database) -> int:
    """Staging tables left in the database (PostgreSQL stages a chunk's papers in one)."""
    if not raw.on_postgres(db):
        return 0
    return int(await raw.value(db, "SELECT COUNT(*) FROM pg_class WHERE relname LIKE 'paperboy_papers_in%'"))


async def _pending(db: Database) -> int:
    """Pages of search index entries left pending (PostgreSQL's GIN index; filed by this call)."""
    if not raw.on_postgres(db):
        return 0
    return int(await raw.value(db, "SELECT gin_clean_pending_list('papers_search'::regclass)"))


async def test_chunks_loaded_in_turn_equal_their_loads_one_after_the_other(db: Database, single: Database) -> None:
    # A paper again in the next chunk (staged while the one before writes it), and a title-only
    # twin that makes a chunk's run load batch by batch (its stage unused).
    parts = [chunks()[:2], [partial(D2, "2001.00001", title="Paper {} v2")], chunks()[2:3],
             [partial(D1, "2001.00005", title="Orphan {}")]]
    for database in (db, single):
        await Loader(database).load(ParsedDigest("hf-daily", D1, "hf-page",
                                                 [PaperRecord(title="Orphan 2001.00005", abstract="x")]))
    in_turn = [results async for results in Loader(db).load_chunks(_each(parts))]
    one_after = [await Loader(single).load_many(part) for part in parts]
    assert [counts(r) for r in in_turn] == [counts(r) for r in one_after]
    assert await dump(db) == await dump(single)
    assert counts(in_turn[1])[0][2:5] == (0, 0, 1) and counts(in_turn[3])[0][2:4] == (0, 1)  # updated; merged
    assert await _stages(db) == 0
    assert await _pending(db) == 0 and await _pending(single) == 0  # searches read no backlog


async def test_a_chunk_that_fails_rolls_back_with_the_chunk_after_it_and_keeps_those_before(db: Database) -> None:
    async def fail_on_the_second(tx: Database, result: LoadResult) -> None:
        if result.date == D2:
            raise RuntimeError("a hook failed")

    parts = [[partial(D1, "2001.00001")], [partial(D2, "2001.00002")], [partial(D1, "2001.00003")]]
    loaded = []
    with pytest.raises(RuntimeError, match="a hook failed"):
        async for results in Loader(db, after_load=[fail_on_the_second]).load_chunks(_each(parts)):
            loaded.append(results)
    assert [[r.new for r in results] for results in loaded] == [[1]]
    assert await raw.rows(db, "SELECT arxiv_id FROM papers") == [("2001.00001",)]
    assert await _stages(db) == 0
    # Loading again completes it, with what stayed counted once.
    again = [results async for results in Loader(db).load_chunks(_each(parts))]
    assert [[r.new for r in results] for results in again] == [[0], [1], [1]]
