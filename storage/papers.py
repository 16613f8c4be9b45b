"""Reading papers back: by id, by arXiv id, with their listings; export; archive statistics."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from storage.db import Database
from storage.records import StoredPaper

PAPER_COLUMNS = "id, title, abstract, arxiv_id, authors, links, categories, keywords, ai_summary, published"


def paper_from_row(row: sqlite3.Row) -> StoredPaper:
    return StoredPaper(
        id=row["id"],
        title=row["title"],
        abstract=row["abstract"],
        arxiv_id=row["arxiv_id"],
        authors=json.loads(row["authors"]),
        links=json.loads(row["links"]),
        categories=json.loads(row["categories"]),
        keywords=json.loads(row["keywords"]),
        ai_summary=row["ai_summary"],
        published=dt.date.fromisoformat(row["published"]) if row["published"] else None,
    )


@dataclass(slots=True, frozen=True)
class Listing:
    """One appearance of a paper in a digest."""

    source: str
    date: dt.date
    format: str
    position: int
    upvotes: int | None
    comments: int | None


async def get_paper(db: Database, paper_id: int) -> StoredPaper | None:
    row = await db.fetchone(f"SELECT {PAPER_COLUMNS} FROM papers WHERE id = ?", (paper_id,))  # noqa: S608
    return paper_from_row(row) if row else None


async def get_papers(db: Database, paper_ids: Sequence[int]) -> list[StoredPaper]:
    """Papers by id, in the order asked (missing ids are skipped)."""
    if not paper_ids:
        return []
    rows = await db.fetchall(
        f"SELECT {PAPER_COLUMNS} FROM papers WHERE id IN (SELECT value FROM json_each(?))",  # noqa: S608
        (json.dumps(list(paper_ids)),),
    )
    by_id = {row["id"]: paper_from_row(row) for row in rows}
    return [by_id[i] for i in paper_ids if i in by_id]


async def get_by_arxiv_id(db: Database, arxiv_id: str) -> StoredPaper | None:
    row = await db.fetchone(f"SELECT {PAPER_COLUMNS} FROM papers WHERE arxiv_id = ?", (arxiv_id,))  # noqa: S608
    return paper_from_row(row) if row else None


async def listings(db: Database, paper_id: int) -> list[Listing]:
    rows = await db.fetchall(
        "SELECT d.source, d.date, d.format, e.position, e.upvotes, e.comments"
        " FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
        " WHERE e.paper_id = ? ORDER BY d.date, d.source",
        (paper_id,),
    )
    return [Listing(r["source"], dt.date.fromisoformat(r["date"]), r["format"], r["position"], r["upvotes"],
                    r["comments"]) for r in rows]


async def export_rows(db: Database, since: dt.date | None = None, until: dt.date | None = None,
                      batch: int = 2000) -> AsyncIterator[dict[str, object]]:
    """Every paper listed in [since, until] as a Paperboy export object (see bot.ingest.formats.paperboy_jsonl)."""
    low = since.isoformat() if since else "0000-00-00"
    high = until.isoformat() if until else "9999-99-99"
    last = 0
    while True:
        rows = await db.fetchall(
            f"SELECT {PAPER_COLUMNS} FROM papers WHERE id > ? AND EXISTS ("  # noqa: S608
            " SELECT 1 FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
            " WHERE e.paper_id = papers.id AND d.date BETWEEN ? AND ?) ORDER BY id LIMIT ?",
            (last, low, high, batch),
        )
        if not rows:
            return
        ids = [r["id"] for r in rows]
        found: dict[int, list[dict[str, object]]] = {i: [] for i in ids}
        for e in await db.fetchall(
            "SELECT e.paper_id, d.source, d.date, d.format, e.position, e.upvotes, e.comments"
            " FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
            " WHERE e.paper_id IN (SELECT value FROM json_each(?)) AND d.date BETWEEN ? AND ?"
            " ORDER BY d.date, d.source",
            (json.dumps(ids), low, high),
        ):
            found[e["paper_id"]].append({
                "source": e["source"], "date": e["date"], "format": e["format"],
                "position": e["position"], "upvotes": e["upvotes"], "comments": e["comments"],
            })
        for row in rows:
            paper = paper_from_row(row)
            yield {
                "paperboy_export": 1,
                "arxiv_id": paper.arxiv_id,
                "title": paper.title,
                "abstract": paper.abstract,
                "authors": paper.authors,
                "links": paper.links,
                "categories": paper.categories,
                "keywords": paper.keywords,
                "ai_summary": paper.ai_summary,
                "published": paper.published.isoformat() if paper.published else None,
                "listings": found[paper.id],
            }
        last = ids[-1]


@dataclass(slots=True, frozen=True)
class ArchiveStats:
    papers: int
    digests: int
    listings: int
    with_arxiv_id: int
    first_date: dt.date | None
    last_date: dt.date | None
    database_bytes: int


async def stats(db: Database) -> ArchiveStats:
    row = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM papers) AS papers, (SELECT COUNT(*) FROM digests) AS digests,"
        " (SELECT COALESCE(SUM(paper_count), 0) FROM digests) AS listings,"
        " (SELECT COUNT(arxiv_id) FROM papers) AS with_id,"
        " (SELECT MIN(date) FROM digests) AS first, (SELECT MAX(date) FROM digests) AS last"
    )
    assert row is not None
    size = await db.size_bytes()
    return ArchiveStats(
        papers=row["papers"], digests=row["digests"], listings=row["listings"], with_arxiv_id=row["with_id"],
        first_date=dt.date.fromisoformat(row["first"]) if row["first"] else None,
        last_date=dt.date.fromisoformat(row["last"]) if row["last"] else None,
        database_bytes=size,
    )
