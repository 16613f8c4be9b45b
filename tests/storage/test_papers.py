"""Reading papers back, on both backends: by id and arXiv id, listings, export, statistics."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import papers as paper_repo
from storage.db import Database
from tests.storage.archive_seed import digest, load, rec

pytestmark = pytest.mark.both_backends

D1, D2, D3 = dt.date(2025, 9, 8), dt.date(2025, 9, 9), dt.date(2025, 9, 10)


async def sample(db: Database) -> None:
    await load(db,
               digest([rec("SqueezeLLM: Dense-and-Sparse Quantization", "2306.07629", authors=["S. Kim", "C. Hooper"],
                           links={"arxiv": "https://arxiv.org/abs/2306.07629"}, categories=["cs.CL", "cs.LG"],
                           keywords=["quantization"], ai_summary="Squeezes.", published=dt.date(2023, 6, 13),
                           upvotes=12, comments=3),
                       rec("FlashAttention: Fast Exact Attention", "2205.14135")], D1),
               digest([rec("FlashAttention: Fast Exact Attention", "2205.14135", upvotes=40)], D2),
               digest([rec("FlashAttention: Fast Exact Attention", "2205.14135", upvotes=7)], D2, source="arxiv-api",
                      fmt="arxiv-api"),
               digest([rec("Untitled Preprint Without an Id", None, abstract="No id.")], D3))


async def test_papers_by_id_and_arxiv_id_keep_every_field(db: Database) -> None:
    await sample(db)
    squeeze = await paper_repo.get_by_arxiv_id(db, "2306.07629")
    assert squeeze is not None
    assert (squeeze.title, squeeze.authors, squeeze.links, squeeze.categories, squeeze.keywords) == (
        "SqueezeLLM: Dense-and-Sparse Quantization", ["S. Kim", "C. Hooper"],
        {"arxiv": "https://arxiv.org/abs/2306.07629"}, ["cs.CL", "cs.LG"], ["quantization"])
    assert (squeeze.ai_summary, squeeze.published) == ("Squeezes.", dt.date(2023, 6, 13))
    assert await paper_repo.get_paper(db, squeeze.id) == squeeze
    flash = await paper_repo.get_by_arxiv_id(db, "2205.14135")
    assert flash is not None and (flash.authors, flash.links, flash.published, flash.ai_summary) == ([], {}, None, None)
    assert await paper_repo.get_paper(db, 10_000) is None
    assert await paper_repo.get_by_arxiv_id(db, "9999.99999") is None
    # In the order asked, missing ids skipped, repeats kept.
    got = await paper_repo.get_papers(db, [flash.id, 10_000, squeeze.id, flash.id])
    assert [p.id for p in got] == [flash.id, squeeze.id, flash.id]
    assert await paper_repo.get_papers(db, []) == []


async def test_listings_by_day_then_source(db: Database) -> None:
    await sample(db)
    flash = await paper_repo.get_by_arxiv_id(db, "2205.14135")
    assert flash is not None
    listed = await paper_repo.listings(db, flash.id)
    assert [(x.source, x.date, x.format, x.position, x.upvotes, x.comments) for x in listed] == [
        ("hf-daily", D1, "hf-api", 1, None, None),
        ("arxiv-api", D2, "arxiv-api", 0, 7, None),
        ("hf-daily", D2, "hf-api", 0, 40, None),
    ]
    assert await paper_repo.listings(db, 10_000) == []


async def test_a_paper_with_its_listings_in_one_read(db: Database) -> None:
    await sample(db)
    flash = await paper_repo.get_by_arxiv_id(db, "2205.14135")
    assert flash is not None
    expected = paper_repo.ListedPaper(flash, await paper_repo.listings(db, flash.id))
    assert len(expected.listings) == 3
    assert await paper_repo.get_listed(db, "2205.14135") == expected  # by arXiv id
    assert await paper_repo.get_listed(db, flash.id) == expected  # by paper id
    squeeze = await paper_repo.get_listed(db, "2306.07629")
    assert squeeze is not None and [(x.upvotes, x.comments) for x in squeeze.listings] == [(12, 3)]
    assert squeeze.paper.published == dt.date(2023, 6, 13)
    assert await paper_repo.get_listed(db, 10_000) is None
    assert await paper_repo.get_listed(db, "9999.99999") is None


async def test_export_rows_in_id_order_within_the_dates(db: Database) -> None:
    await sample(db)
    rows = [r async for r in paper_repo.export_rows(db, batch=1)]
    assert [r["title"] for r in rows] == ["SqueezeLLM: Dense-and-Sparse Quantization",
                                          "FlashAttention: Fast Exact Attention", "Untitled Preprint Without an Id"]
    assert rows[0]["published"] == "2023-06-13" and rows[0]["authors"] == ["S. Kim", "C. Hooper"]
    assert rows[0]["listings"] == [{"source": "hf-daily", "date": "2025-09-08", "format": "hf-api", "position": 0,
                                    "upvotes": 12, "comments": 3}]
    assert rows[0]["paperboy_export"] == 1 and rows[2]["arxiv_id"] is None
    since = [r async for r in paper_repo.export_rows(db, since=D2, until=D2)]
    assert [r["arxiv_id"] for r in since] == ["2205.14135"]
    assert [(x["source"], x["date"]) for x in since[0]["listings"]] == [  # type: ignore[attr-defined]
        ("arxiv-api", "2025-09-09"), ("hf-daily", "2025-09-09")]
    assert [r async for r in paper_repo.export_rows(db, since=dt.date(2026, 1, 1))] == []


async def test_stats_of_an_empty_and_a_filled_archive(db: Database) -> None:
    empty = await paper_repo.stats(db)
    assert (empty.papers, empty.digests, empty.listings, empty.with_arxiv_id, empty.first_date, empty.last_date) == (
        0, 0, 0, 0, None, None)
    await sample(db)
    full = await paper_repo.stats(db)
    assert (full.papers, full.digests, full.listings, full.with_arxiv_id, full.first_date, full.last_date) == (
        3, 4, 5, 2, D1, D3)
    assert full.database_bytes > 0
