"""Identity, merging, idempotence and atomicity of loading digests, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest

from storage import papers as paper_repo
from storage import pending_matches
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.records import LoadResult, PaperRecord, ParsedDigest
from tests.storage import raw
from tests.storage.raw import count

pytestmark = pytest.mark.both_backends

D1 = dt.date(2025, 9, 9)
D2 = dt.date(2025, 9, 10)


def rec(title: str, arxiv_id: str | None = None, abstract: str = "An abstract.", **kw: object) -> PaperRecord:
    return PaperRecord(title=title, abstract=abstract, arxiv_id=arxiv_id, **kw)  # type: ignore[arg-type]


def digest(papers: list[PaperRecord], day: dt.date = D1, source: str = "hf-daily",
           fmt: str = "hf-api", complete: bool = True) -> ParsedDigest:
    return ParsedDigest(source=source, date=day, format=fmt, papers=papers, complete=complete)


async def test_load_stores_papers_entries_and_fts(db: Database) -> None:
    result = await Loader(db).load(digest([
        rec("SqueezeLLM: Dense-and-Sparse Quantization", "2306.07629", upvotes=12, comments=3),
        rec("FlashAttention: Fast Exact Attention", "2205.14135", abstract="IO-aware exact attention."),
    ]))
    assert (result.papers, result.new, result.unchanged) == (2, 2, False)
    assert await count(db, "papers") == 2
    entries = await raw.entries(db, result.digest_id)
    assert [e[1] for e in entries] == ["2306.07629", "2205.14135"]
    assert entries[0][4:] == (12, 3)
    assert await raw.search_ids(db, "attention") == [entries[1][0]]


async def test_same_digest_twice_changes_nothing_and_says_so(db: Database) -> None:
    loader = Loader(db)
    d = digest([rec("A paper", "2401.00001"), rec("Another paper")])
    await loader.load(d)
    again = await loader.load(d)
    assert again.unchanged and again.new == 0
    assert await count(db, "papers") == 2
    assert await count(db, "digest_entries") == 2


async def test_corrected_digest_updates_without_duplicates(db: Database) -> None:
    loader = Loader(db)
    await loader.load(digest([rec("A paper", "2401.00001", abstract="typo"), rec("Gone paper", "2401.00002")]))
    fixed = await loader.load(digest([rec("A paper", "2401.00001", abstract="fixed"), rec("New one", "2401.00003")]))
    assert (fixed.new, fixed.updated, fixed.unchanged) == (1, 1, False)
    assert await raw.rows(db, "SELECT id, paper_count FROM digests") == [(fixed.digest_id, 2)]
    titles = [e[2] for e in await raw.entries(db, fixed.digest_id)]
    assert titles == ["A paper", "New one"]
    paper = await raw.paper(db, "2401.00001")
    assert paper is not None and paper["abstract"] == "fixed"
    assert await raw.search_ids(db, "typo") == []


async def test_paper_on_three_days_is_one_paper_in_three_digests(db: Database) -> None:
    loader = Loader(db)
    for day in (D1, D2, dt.date(2025, 9, 11)):
        await loader.load(digest([rec("Recurring", "2409.00001")], day=day))
    assert await count(db, "papers") == 1
    paper = await raw.paper(db, "2409.00001")
    assert paper is not None
    assert await raw.listing_days(db, paper["id"]) == ["2025-09-09", "2025-09-10", "2025-09-11"]


async def test_title_only_paper_adopts_a_later_arxiv_id(db: Database) -> None:
    loader = Loader(db)
    await loader.load(digest([rec("FlashAttention: Fast and Memory-Efficient Exact Attention")], fmt="hf-page"))
    later = await loader.load(digest([rec("Flashattention -- fast and memory-efficient exact attention!",
                                          "2205.14135")], day=D2))
    assert (later.new, later.merged) == (0, 1)
    assert await count(db, "papers") == 1
    paper = await raw.paper(db, "2205.14135")
    assert paper is not None
    assert len(await raw.listing_days(db, paper["id"])) == 2


async def test_title_only_record_lands_on_the_paper_with_an_id(db: Database) -> None:
    loader = Loader(db)
    await loader.load(digest([rec("SliceGPT: Compress Large Language Models", "2401.15024")]))
    page = await loader.load(digest([rec("SliceGPT: compress large language models", upvotes=7)], day=D2,
                                    fmt="hf-page"))
    assert page.new == 0
    assert await count(db, "papers") == 1


async def test_existing_twins_are_merged_into_the_paper_with_the_id(db: Database) -> None:
    loader = Loader(db)
    await loader.load(digest([rec("Twin Title", "2501.00001")], day=D1, source="a"))
    # Written directly: a title-only twin that predates the merge rule.
    await raw.execute(
        db, "INSERT INTO papers(title_key, title, abstract, first_listed, created_at, updated_at)"
        " VALUES ('twin title', 'Twin Title', 'x', '2025-01-01', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')"
    )
    twin_id = await raw.value(db, "SELECT id FROM papers WHERE arxiv_id IS NULL")
    digest_id = await raw.value(db, "SELECT id FROM digests WHERE source = 'a'")
    await raw.execute(db, "INSERT INTO digest_entries(digest_id, paper_id, position) VALUES (?, ?, 5)",
                      digest_id, twin_id)
    merged = await loader.load(digest([rec("Twin Title", "2501.00001")], day=D2, source="b"))
    assert merged.merged == 1
    assert await count(db, "papers") == 1
    paper = await raw.paper(db, "2501.00001")
    assert paper is not None and paper["first_listed"] == "2025-01-01"
    assert await raw.listing_days(db, paper["id"]) == ["2025-09-09", "2025-09-10"]


async def test_duplicate_cards_in_one_digest_keep_the_first_position(db: Database) -> None:
    result = await Loader(db).load(digest([rec("Dup", "2501.00009"), rec("Other", "2501.00010"),
                                           rec("Dup", "2501.00009")]))
    assert result.papers == 2
    entries = await raw.entries(db, result.digest_id)
    assert [e[3] for e in entries] == [0, 1]


async def test_partial_batches_add_to_a_digest(db: Database) -> None:
    loader = Loader(db)
    await loader.load_many([
        digest([rec("P1", "0704.0001", position=1)], complete=False, source="arxiv-snapshot"),
        digest([rec("P2", "0704.0002", position=2)], complete=False, source="arxiv-snapshot"),
    ])
    assert await raw.rows(db, "SELECT source, paper_count FROM digests") == [("arxiv-snapshot", 2)]


async def test_a_failing_hook_rolls_back_the_whole_load(db: Database) -> None:
    async def broken(conn: object, result: object) -> None:
        raise RuntimeError("notification queue failed")

    with pytest.raises(RuntimeError):
        await Loader(db, after_load=[broken]).load(digest([rec("Lost", "2501.00001")]))
    assert await count(db, "papers") == 0
    assert await count(db, "digests") == 0


async def test_listeners_hear_of_a_load_once_it_is_committed_and_never_of_a_rolled_back_one(db: Database) -> None:
    heard: list[tuple[int, int]] = []

    async def listener(results: Sequence[LoadResult]) -> None:
        heard.append((len(results), await raw.count_elsewhere(db, "papers")))  # only what is committed

    async def broken(conn: object, result: object) -> None:
        raise RuntimeError("notification queue failed")

    with pytest.raises(RuntimeError):
        await Loader(db, after_load=[broken], after_commit=[listener]).load(digest([rec("Lost", "2501.00001")]))
    assert heard == []
    await Loader(db, after_commit=[listener]).load(digest([rec("Kept", "2501.00002")]))
    assert heard == [(1, 1)]


async def test_a_failing_listener_does_not_undo_or_fail_the_load(db: Database) -> None:
    async def failing(results: Sequence[LoadResult]) -> None:
        raise RuntimeError("listener failed")

    result = await Loader(db, after_commit=[failing]).load(digest([rec("Kept", "2501.00002")]))
    assert result.new == 1 and await count(db, "papers") == 1


async def test_links_merge_and_richer_fields_win(db: Database) -> None:
    loader = Loader(db)
    await loader.load(digest([rec("P", "2501.00001", links={"github": "https://github.com/a/b"},
                                  authors=["Ada"])]))
    await loader.load(digest([rec("P", "2501.00001", links={"arxiv": "https://arxiv.org/abs/2501.00001"})],
                             day=D2))
    paper = await raw.paper(db, "2501.00001")
    assert paper is not None
    assert paper["links"] == {"github": "https://github.com/a/b", "arxiv": "https://arxiv.org/abs/2501.00001"}
    assert paper["authors"] == ["Ada"]


async def test_export_rows_carry_every_listing(db: Database) -> None:
    if raw.on_postgres(db):
        pytest.skip("storage.papers.export_rows runs on PostgreSQL once storage/papers.py is ported")
    loader = Loader(db)
    await loader.load(digest([rec("P", "2501.00001", upvotes=4)]))
    await loader.load(digest([rec("P", "2501.00001")], day=D2, source="arxiv-rss:cs.LG", fmt="arxiv-rss"))
    rows = [r async for r in paper_repo.export_rows(db)]
    assert len(rows) == 1
    assert [(lst["source"], lst["date"], lst["upvotes"]) for lst in rows[0]["listings"]] == [  # type: ignore[index]
        ("hf-daily", "2025-09-09", 4), ("arxiv-rss:cs.LG", "2025-09-10", None)]
    only_d2 = [r async for r in paper_repo.export_rows(db, since=D2)]
    assert len(only_d2[0]["listings"]) == 1  # type: ignore[arg-type]


async def test_two_processes_loading_the_same_digest_at_once_store_it_once_and_mark_it_once(
        db: Database, db_address: str) -> None:
    marked: list[int] = []

    async def mark(tx: Database, result: LoadResult) -> None:
        if not result.unchanged:
            marked.append(result.digest_id)
            await pending_matches.add(tx, result.digest_id, result.paper_ids)

    other = await open_database(db_address)  # another process's handle on the same archive
    try:
        d = digest([rec(f"Paper {i}", f"2501.{i:05d}") for i in range(200)] + [rec("No id at all")])
        results = await asyncio.gather(*(Loader(handle, after_load=[mark]).load(d) for handle in (db, other)))
    finally:
        await other.close()
    assert sorted(r.unchanged for r in results) == [False, True]
    assert sorted(r.new for r in results) == [0, 201]
    assert await count(db, "papers") == 201 and await count(db, "digest_entries") == 201
    assert len(marked) == 1 and [p.digest_id for p in await pending_matches.pending(db)] == marked
