"""Reading papers back: by id, by arXiv id, with their listings; export; archive statistics.

The SQL: storage/sqlite/papers.py, storage/postgres/papers.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import Database
from storage.dispatch import per_backend
from storage.records import StoredPaper

# A row as either backend returns it (sqlite3.Row, asyncpg.Record): both index by column name.
Row = Any

PAPER_COLUMNS = "id, title, abstract, arxiv_id, authors, links, categories, keywords, ai_summary, published"


def _json(value: Any) -> Any:
    """A JSON column's value: SQLite returns the text, PostgreSQL's jsonb codec the object."""
    return json.loads(value) if isinstance(value, str) else value


def as_date(value: Any) -> dt.date | None:
    """A day column's value: SQLite returns ISO text, PostgreSQL a date."""
    if value is None or value == "":
        return None
    return dt.date.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[no-any-return]


def paper_from_row(row: Row) -> StoredPaper:
    """A paper from a row of PAPER_COLUMNS, read by either backend."""
    return StoredPaper(
        id=int(row["id"]),
        title=row["title"],
        abstract=row["abstract"],
        arxiv_id=row["arxiv_id"],
        authors=_json(row["authors"]),
        links=_json(row["links"]),
        categories=_json(row["categories"]),
        keywords=_json(row["keywords"]),
        ai_summary=row["ai_summary"],
        published=as_date(row["published"]),
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


def export_object(paper: StoredPaper, listed: list[dict[str, object]]) -> dict[str, object]:
    """A paper and its listings as a Paperboy export object (see bot.ingest.formats.paperboy_jsonl)."""
    return {
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
        "listings": listed,
    }


@per_backend
async def get_paper(db: Database, paper_id: int) -> StoredPaper | None:
    """The paper with this id, or None."""
    raise NotImplementedError


@per_backend
async def get_papers(db: Database, paper_ids: Sequence[int]) -> list[StoredPaper]:
    """Papers by id, in the order asked (missing ids are skipped)."""
    raise NotImplementedError


@per_backend
async def get_by_arxiv_id(db: Database, arxiv_id: str) -> StoredPaper | None:
    """The paper with this arXiv id (without version), or None."""
    raise NotImplementedError


@per_backend
async def listings(db: Database, paper_id: int) -> list[Listing]:
    """Every digest that listed the paper, oldest day first (then by source)."""
    raise NotImplementedError


@dataclass(slots=True, frozen=True)
class ListedPaper:
    """A paper with every digest that listed it (oldest day first, then by source)."""

    paper: StoredPaper
    listings: list[Listing]


@per_backend
async def get_listed(db: Database, key: int | str) -> ListedPaper | None:
    """The paper with this id (an int) or arXiv id (a str, without version) and its listings, in
    one statement: a paper page makes one trip to the database rather than two, and under load each
    trip waits its turn on the busy event loop (see bench/README.md, web)."""
    raise NotImplementedError


def listed_query(where: str, aggregate: str, array: str) -> str:
    """The SELECT of PAPER_COLUMNS and `listed` (read by listed_from_row) for the paper `where`
    names, written with the backend's JSON array aggregate and array constructor."""
    return (f"SELECT {PAPER_COLUMNS}, (SELECT {aggregate}({array}(d.source, d.date, d.format, e.position,"  # noqa: S608
            " e.upvotes, e.comments)) FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
            f" WHERE e.paper_id = papers.id) AS listed FROM papers WHERE {where}")


def listed_from_row(row: Row) -> ListedPaper:
    """A ListedPaper from a row of PAPER_COLUMNS and `listed`: a JSON array of [source, date, format,
    position, upvotes, comments], in any order."""
    items = [Listing(source, as_date(day) or dt.date.min, fmt, position, upvotes, comments)
             for source, day, fmt, position, upvotes, comments in _json(row["listed"]) or []]
    items.sort(key=lambda x: (x.date, x.source))
    return ListedPaper(paper_from_row(row), items)


@per_backend
def export_rows(db: Database, since: dt.date | None = None, until: dt.date | None = None,
                batch: int = 2000) -> AsyncIterator[dict[str, object]]:
    """Every paper listed in [since, until] as a Paperboy export object (`export_object`), in id
    order, with its listings in that range (by day, then source); read `batch` papers at a time."""
    raise NotImplementedError


@dataclass(slots=True, frozen=True)
class ArchiveStats:
    papers: int
    digests: int
    listings: int
    with_arxiv_id: int
    first_date: dt.date | None
    last_date: dt.date | None
    database_bytes: int


@per_backend
async def stats(db: Database) -> ArchiveStats:
    """How much the archive holds."""
    raise NotImplementedError
