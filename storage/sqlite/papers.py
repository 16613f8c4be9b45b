"""storage/papers.py on SQLite."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence

from storage import papers
from storage.papers import PAPER_COLUMNS, ArchiveStats, Listing, export_object, paper_from_row
from storage.records import StoredPaper
from storage.sqlite.db import SqliteDatabase


@papers.get_paper.register(SqliteDatabase)
async def get_paper(db: SqliteDatabase, paper_id: int) -> StoredPaper | None:
    row = await db.fetchone(f"SELECT {PAPER_COLUMNS} FROM papers WHERE id = ?", (paper_id,))  # noqa: S608
    return paper_from_row(row) if row else None


@papers.get_papers.register(SqliteDatabase)
async def get_papers(db: SqliteDatabase, paper_ids: Sequence[int]) -> list[StoredPaper]:
    if not paper_ids:
        return []
    rows = await db.fetchall(
        f"SELECT {PAPER_COLUMNS} FROM papers WHERE id IN (SELECT value FROM json_each(?))",  # noqa: S608
        (json.dumps(list(paper_ids)),),
    )
    by_id = {row["id"]: paper_from_row(row) for row in rows}
    return [by_id[i] for i in paper_ids if i in by_id]


@papers.get_by_arxiv_id.register(SqliteDatabase)
async def get_by_arxiv_id(db: SqliteDatabase, arxiv_id: str) -> StoredPaper | None:
    row = await db.fetchone(f"SELECT {PAPER_COLUMNS} FROM papers WHERE arxiv_id = ?", (arxiv_id,))  # noqa: S608
    return paper_from_row(row) if row else None


@papers.get_listed.register(SqliteDatabase)
async def get_listed(db: SqliteDatabase, key: int | str) -> papers.ListedPaper | None:
    where = "id = ?" if isinstance(key, int) else "arxiv_id = ?"
    row = await db.fetchone(papers.listed_query(where, "json_group_array", "json_array"), (key,))
    return papers.listed_from_row(row) if row else None


@papers.listings.register(SqliteDatabase)
async def listings(db: SqliteDatabase, paper_id: int) -> list[Listing]:
    rows = await db.fetchall(
        "SELECT d.source, d.date, d.format, e.position, e.upvotes, e.comments"
        " FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
        " WHERE e.paper_id = ? ORDER BY d.date, d.source",
        (paper_id,),
    )
    return [Listing(r["source"], dt.date.fromisoformat(r["date"]), r["format"], r["position"], r["upvotes"],
                    r["comments"]) for r in rows]


@papers.export_rows.register(SqliteDatabase)
async def export_rows(db: SqliteDatabase, since: dt.date | None = None, until: dt.date | None = None,
                      batch: int = 2000) -> AsyncIterator[dict[str, object]]:
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
            yield export_object(paper_from_row(row), found[row["id"]])
        last = ids[-1]


@papers.stats.register(SqliteDatabase)
async def stats(db: SqliteDatabase) -> ArchiveStats:
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
