"""Putting digests into a test archive on either backend: through the Loader; and, on
PostgreSQL, single papers inserted on a connection of the test's choosing, for transactions that
the Loader (which serialises loads) would never interleave."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from storage.db import Database, now_utc
from storage.loader import Loader
from storage.normalize import title_key
from storage.records import PaperRecord, ParsedDigest


def rec(title: str, arxiv_id: str | None = None, abstract: str = "An abstract.", **kw: object) -> PaperRecord:
    return PaperRecord(title=title, abstract=abstract, arxiv_id=arxiv_id, **kw)  # type: ignore[arg-type]


def digest(papers: list[PaperRecord], day: dt.date, source: str = "hf-daily", fmt: str = "hf-api") -> ParsedDigest:
    return ParsedDigest(source=source, date=day, format=fmt, papers=papers)


async def load(db: Database, *digests: ParsedDigest) -> None:
    for d in digests:
        await Loader(db).load(d)


async def pg_insert_paper(conn: asyncpg.Connection, p: PaperRecord, listed: dt.date) -> int:
    """Insert one paper on a PostgreSQL connection (in its transaction); returns its id."""
    now = now_utc()
    return int(await conn.fetchval(
        "INSERT INTO papers (arxiv_id, title_key, title, abstract, authors, links, categories, keywords,"
        " ai_summary, published, first_listed, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7::text::jsonb, $8::text::jsonb,"
        " $9, $10, $11, $12, $12) RETURNING id",
        p.arxiv_id, title_key(p.title), p.title, p.abstract, json.dumps(p.authors), json.dumps(p.links),
        json.dumps(p.categories), json.dumps(p.keywords), p.ai_summary, p.published, listed, now))

