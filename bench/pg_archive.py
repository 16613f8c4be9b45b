"""The bench corpus on PostgreSQL: a SQLite bench database copied, row for row, into a PostgreSQL
database (papers, digests, digest_entries with their ids), so both backends are measured on the
same archive in the same run.

The copy goes through COPY into text staging tables and one INSERT ... SELECT per table (the
server casts dates, times and JSON), with the GIN index built after the rows, as a bulk load
would. It is a bench fixture, not `paperboy migrate-db`: the other tables stay empty.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from storage.backends import open_database

CHUNK = 20_000

# table -> (columns, the casts of the INSERT ... SELECT from the text staging table)
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "papers": (
        ("id", "arxiv_id", "title_key", "title", "abstract", "authors", "links", "categories", "keywords",
         "ai_summary", "published", "first_listed", "created_at", "updated_at"),
        "id::bigint, arxiv_id, title_key, title, abstract, authors::jsonb, links::jsonb, categories::jsonb,"
        " keywords::jsonb, ai_summary, published::date, first_listed::date, created_at::timestamptz,"
        " updated_at::timestamptz"),
    "digests": (
        ("id", "source", "date", "format", "content_hash", "paper_count", "fetched_at", "updated_at"),
        "id::bigint, source, date::date, format, content_hash, paper_count::integer, fetched_at::timestamptz,"
        " updated_at::timestamptz"),
    "digest_entries": (
        ("digest_id", "paper_id", "position", "upvotes", "comments"),
        "digest_id::bigint, paper_id::bigint, position::integer, upvotes::integer, comments::integer"),
}


def _rows(path: Path, table: str, columns: tuple[str, ...]) -> Iterator[list[tuple[str | None, ...]]]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        cursor = conn.execute(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608 - our names
        while chunk := cursor.fetchmany(CHUNK):
            yield [tuple(None if v is None else str(v) for v in row) for row in chunk]


async def copy_archive(sqlite_path: Path, url: str) -> dict[str, float]:
    """Copy the archive at `sqlite_path` into the empty PostgreSQL database at `url` (migrated
    here); returns seconds per step."""
    db = await open_database(url)
    await db.close()
    conn = await asyncpg.connect(url)
    took: dict[str, float] = {}
    try:
        await conn.execute("DROP INDEX papers_search")
        for table, (columns, casts) in TABLES.items():
            start = time.perf_counter()
            staging = f"staging_{table}"
            await conn.execute(f"CREATE TEMP TABLE {staging} ({', '.join(c + ' text' for c in columns)})")
            for chunk in _rows(sqlite_path, table, columns):
                await conn.copy_records_to_table(staging, records=chunk, columns=list(columns))
            await conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {casts} FROM {staging}")  # noqa: S608
            await conn.execute(f"DROP TABLE {staging}")
            took[f"copy {table} s"] = time.perf_counter() - start
        for table in ("papers", "digests"):
            # The rows came with their ids: later loads into the copy (bench summary) take the next.
            following = await conn.fetchval(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
            await conn.execute("SELECT setval(pg_get_serial_sequence($1, 'id'), $2, false)", table, following)
        start = time.perf_counter()
        await conn.execute("CREATE INDEX papers_search ON papers USING gin (search)")
        took["GIN index s"] = time.perf_counter() - start
        start = time.perf_counter()
        await conn.execute("VACUUM ANALYZE papers")
        await conn.execute("ANALYZE digests")
        await conn.execute("ANALYZE digest_entries")
        took["analyze s"] = time.perf_counter() - start
    finally:
        await conn.close()
    return took
