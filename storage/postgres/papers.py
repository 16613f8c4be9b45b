"""storage/papers.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence

from storage import papers
from storage.papers import PAPER_COLUMNS, ArchiveStats, Listing, export_object, paper_from_row
from storage.postgres.db import PostgresDatabase
from storage.records import StoredPaper


@papers.get_paper.register(PostgresDatabase)
async def get_paper(db: PostgresDatabase, paper_id: int) -> StoredPaper | None:
    row = await db.fetchone(f"SELECT {PAPER_COLUMNS} FROM papers WHERE id = $1", (paper_id,))  # noqa: S608
    return paper_from_row(row) if row else None


@papers.get_papers.register(PostgresDatabase)
async def get_papers(db: PostgresDatabase, paper_ids: Sequence[int]) -> list[StoredPaper]:
    if not paper_ids:
        return []
    rows = await db.fetchall(
        f"SELECT {PAPER_COLUMNS} FROM papers WHERE id = ANY($1::bigint[])",  # noqa: S608
        (list(paper_ids),),
    )
    by_id = {row["id"]: paper_from_row(row) for row in rows}
    return [by_id[i] for i in paper_ids if i in by_id]


@papers.get_by_arxiv_id.register(PostgresDatabase)
async def get_by_arxiv_id(db: PostgresDatabase, arxiv_id: str) -> StoredPaper | None:
    row = await db.fetchone(f"SELECT {PAPER_COLUMNS} FROM papers WHERE arxiv_id = $1", (arxiv_id,))  # noqa: S608
    return paper_from_row(row) if row else None


@papers.get_listed.register(PostgresDatabase)
async def get_listed(db: PostgresDatabase, key: int | str) -> papers.ListedPaper | None:
    where = "id = $1" if isinstance(key, int) else "arxiv_id = $1"
    row = await db.fetchone(papers.listed_query(where, "jsonb_agg", "jsonb_build_array"), (key,))
    return papers.listed_from_row(row) if row else None


@papers.listings.register(PostgresDatabase)
async def listings(db: PostgresDatabase, paper_id: int) -> list[Listing]:
    rows = await db.fetchall(
        "SELECT d.source, d.date, d.format, e.position, e.upvotes, e.comments"
        " FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
        ' WHERE e.paper_id = $1 ORDER BY d.date, d.source COLLATE "C"',
        (paper_id,),
    )
    return [Listing(r["source"], r["date"], r["format"], r["position"], r["upvotes"], r["comments"]) for r in rows]


@papers.export_rows.register(PostgresDatabase)
async def export_rows(db: PostgresDatabase, since: dt.date | None = None, until: dt.date | None = None,
                      batch: int = 2000) -> AsyncIterator[dict[str, object]]:
    low = since or dt.date.min
    high = until or dt.date.max
    last = 0
    while True:
        rows = await db.fetchall(
            f"SELECT {PAPER_COLUMNS} FROM papers WHERE id > $1 AND EXISTS ("  # noqa: S608
            " SELECT 1 FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
            " WHERE e.paper_id = papers.id AND d.date BETWEEN $2 AND $3) ORDER BY id LIMIT $4",
            (last, low, high, batch),
        )
        if not rows:
            return
        ids = [int(r["id"]) for r in rows]
        found: dict[int, list[dict[str, object]]] = {i: [] for i in ids}
        for e in await db.fetchall(
            "SELECT e.paper_id, d.source, d.date, d.format, e.position, e.upvotes, e.comments"
            " FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
            " WHERE e.paper_id = ANY($1::bigint[]) AND d.date BETWEEN $2 AND $3"
            ' ORDER BY d.date, d.source COLLATE "C"',
            (ids, low, high),
        ):
            found[int(e["paper_id"])].append({
                "source": e["source"], "date": e["date"].isoformat(), "format": e["format"],
                "position": e["position"], "upvotes": e["upvotes"], "comments": e["comments"],
            })
        for row in rows:
            yield export_object(paper_from_row(row), found[int(row["id"])])
        last = ids[-1]


@papers.stats.register(PostgresDatabase)
async def stats(db: PostgresDatabase) -> ArchiveStats:
    row = await db.fetchone(
        "SELECT (SELECT COUNT(*) FROM papers) AS papers, (SELECT COUNT(*) FROM digests) AS digests,"
        " (SELECT COALESCE(SUM(paper_count), 0) FROM digests) AS listings,"
        " (SELECT COUNT(arxiv_id) FROM papers) AS with_id,"
        " (SELECT MIN(date) FROM digests) AS first, (SELECT MAX(date) FROM digests) AS last"
    )
    assert row is not None
    size = await db.size_bytes()
    return ArchiveStats(
        papers=int(row["papers"]), digests=int(row["digests"]), listings=int(row["listings"]),
        with_arxiv_id=int(row["with_id"]), first_date=row["first"], last_date=row["last"], database_bytes=size,
    )
