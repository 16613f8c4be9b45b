"""storage/summary_stats.py on PostgreSQL: stems and counts from the papers' tsvector ('english').

A stem is looked up as one lexeme of the generated `search` column (title and abstract), through
its GIN index; the stems asked for are those `to_tsvector('english', …)` gives, so they are the
ones that column holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

import asyncpg

from storage import summary_stats
from storage.db import now_utc
from storage.errors import StorageError
from storage.postgres.db import PostgresDatabase


def lexeme_query(stem: str) -> str:
    """A tsquery matching exactly the lexeme `stem` (quoted: no operator or weight in it is syntax)."""
    return "'" + stem.replace("\\", "\\\\").replace("'", "''") + "'"


@summary_stats.index_stems.register(PostgresDatabase)
async def index_stems(db: PostgresDatabase, words: Collection[str]) -> dict[str, str]:
    unique = [w for w in dict.fromkeys(words) if w]
    if not unique:
        return {}
    rows = await db.fetchall(
        "SELECT w.word, tsvector_to_array(to_tsvector('english', w.word)) AS lexemes"
        " FROM unnest($1::text[]) AS w(word)", (unique,))
    return {str(r["word"]): str(r["lexemes"][0]) for r in rows if len(r["lexemes"]) == 1}


@summary_stats.cached_term_counts.register(PostgresDatabase)
async def cached_term_counts(db: PostgresDatabase, terms: Collection[str]) -> list[tuple[str, int, int]]:
    rows = await db.fetchall("SELECT term, doc, archive_papers FROM summary_term_counts WHERE term = ANY($1::text[])"
                             ' ORDER BY term COLLATE "C"', (sorted(terms),))
    return [(str(r["term"]), int(r["doc"]), int(r["archive_papers"])) for r in rows]


@summary_stats.live_term_counts.register(PostgresDatabase)
async def live_term_counts(db: PostgresDatabase, terms: Sequence[str]) -> dict[str, int]:
    if not terms:
        return {}
    # One count per term, each through the GIN index (a lateral subquery per term, one round trip).
    rows = await db.fetchall(
        "SELECT t.term, n.doc FROM unnest($1::text[], $2::text[]) AS t(term, query),"
        " LATERAL (SELECT COUNT(*) AS doc FROM papers WHERE search @@ t.query::tsquery) AS n WHERE n.doc > 0",
        (list(terms), [lexeme_query(t) for t in terms]))
    return {str(r["term"]): int(r["doc"]) for r in rows}


@summary_stats.save_term_counts.register(PostgresDatabase)
async def save_term_counts(db: PostgresDatabase, counts: Sequence[tuple[str, int, int]], *,
                           now: dt.datetime | None = None) -> None:
    at = now or now_utc()
    try:
        await db.executemany(
            "INSERT INTO summary_term_counts (term, doc, archive_papers, counted_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (term) DO UPDATE SET doc = excluded.doc, archive_papers = excluded.archive_papers,"
            " counted_at = excluded.counted_at", [(t, d, n, at) for t, d, n in counts])
    except asyncpg.PostgresError as exc:
        # A read-only server or a user without write rights: the caller treats it as a cache miss.
        raise StorageError(f"term counts not saved: {exc}") from exc


@summary_stats.archive_size.register(PostgresDatabase)
async def archive_size(db: PostgresDatabase) -> int:
    row = await db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM papers")
    return int(row["n"]) if row else 0
