"""Looking at the stored rows directly, on either backend, for tests of the storage layer itself.

Statements are written once with `?` placeholders and portable SQL; on PostgreSQL they become
$1, $2, …. Values come back normalised the way SQLite gives them (days as ISO text, JSON decoded),
so a test compares the same thing on both.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from typing import Any

import asyncpg

from storage.db import Database, iso
from storage.postgres.db import PostgresDatabase
from storage.sqlite.db import SqliteDatabase


def on_postgres(db: Database) -> bool:
    return isinstance(db, PostgresDatabase)


def dialect(db: Database, sql: str) -> str:
    """`sql` with its `?` placeholders numbered for PostgreSQL."""
    if not on_postgres(db):
        return sql
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return value


async def rows(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(_plain(v) for v in row) for row in await db.fetchall(dialect(db, sql), params)]


async def value(db: Database, sql: str, *params: Any) -> Any:
    found = await rows(db, sql, *params)
    return found[0][0] if found else None


async def execute(db: Database, sql: str, *params: Any) -> int:
    return await db.execute(dialect(db, sql), params)


async def count(db: Database, table: str) -> int:
    return int(await value(db, f"SELECT COUNT(*) FROM {table}"))  # noqa: S608 - a test's table name


def decoded(text_or_value: Any) -> Any:
    """A JSON column's value: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(text_or_value) if isinstance(text_or_value, str) else text_or_value


async def paper(db: Database, arxiv_id: str) -> dict[str, Any] | None:
    """The stored paper with `arxiv_id` as a dict of its columns (JSON decoded, days as ISO text)."""
    found = await db.fetchall(dialect(db, "SELECT id, title, abstract, authors, links, categories, keywords,"
                                          " ai_summary, published, first_listed FROM papers WHERE arxiv_id = ?"),
                              (arxiv_id,))
    if not found:
        return None
    row = dict(found[0])
    for col in ("authors", "links", "categories", "keywords"):
        row[col] = decoded(row[col])
    return {key: _plain(v) for key, v in row.items()}


async def entries(db: Database, digest_id: int) -> list[tuple[Any, ...]]:
    """(paper id, arxiv id, title, position, upvotes, comments) of a digest's entries, in order."""
    return await rows(db, "SELECT p.id, p.arxiv_id, p.title, e.position, e.upvotes, e.comments"
                          " FROM digest_entries AS e JOIN papers AS p ON p.id = e.paper_id"
                          " WHERE e.digest_id = ? ORDER BY e.position, p.id", digest_id)


async def listing_days(db: Database, paper_id: int) -> list[str]:
    return [r[0] for r in await rows(db, "SELECT d.date FROM digest_entries AS e JOIN digests AS d"
                                         " ON d.id = e.digest_id WHERE e.paper_id = ? ORDER BY d.date", paper_id)]


async def search_ids(db: Database, word: str) -> list[int]:
    """The ids of the papers whose search index holds `word` (FTS5, or the tsvector column)."""
    if on_postgres(db):
        sql = "SELECT id FROM papers WHERE search @@ plainto_tsquery('english', ?) ORDER BY id"
    else:
        sql = "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rowid"
    return [r[0] for r in await rows(db, sql, word)]


async def count_elsewhere(db: Database, table: str) -> int:
    """COUNT(*) of `table` seen from another connection: only what is committed."""
    sql = f"SELECT COUNT(*) FROM {table}"  # noqa: S608 - a test's table name
    if isinstance(db, PostgresDatabase):
        other = await asyncpg.connect(db.url)
        try:
            return int(await other.fetchval(sql))
        finally:
            await other.close()
    assert isinstance(db, SqliteDatabase)
    with closing(sqlite3.connect(db.path)) as conn:
        return int(conn.execute(sql).fetchone()[0])


AT = dt.datetime(2025, 9, 10, 6, tzinfo=dt.UTC)


async def insert_digest(db: Database, source: str, day: dt.date, *, papers: int = 1, at: dt.datetime = AT,
                        format: str = "test") -> int:
    """A digest row that arrived at `at`, counting `papers` papers (no papers behind it), for tests
    whose setup would otherwise go through a repository they do not test; its id."""
    day_value, at_value = (day, at) if on_postgres(db) else (day.isoformat(), iso(at))
    found = await value(db, "INSERT INTO digests (source, date, format, paper_count, fetched_at, updated_at)"
                            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                        source, day_value, format, papers, at_value, at_value)
    return int(found)
