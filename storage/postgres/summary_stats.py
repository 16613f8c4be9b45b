"""storage/summary_stats.py on PostgreSQL: counts from the papers' tsvector ('english').

The summary's stems are SQLite's porter stems on either backend (`stem_words`), so a digest's
phrases group the same way. The generated `search` column holds PostgreSQL's own stems, so a
stem is counted as the papers matching any of the words it was made from, each stemmed by
'english' (through the column's GIN index): "gener" from "generation" and "general" counts
'generat' | 'general'.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

import asyncpg

from storage import summary_stats
from storage.db import now_utc
from storage.errors import StorageError
from storage.postgres.db import PostgresDatabase


def words_query(words: Collection[str]) -> str:
    """to_tsquery text matching any of `words`, each quoted (nothing in it is syntax) and stemmed by
    the configuration the query is parsed with."""
    return " | ".join("'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in sorted(words))


@summary_stats.cached_term_counts.register(PostgresDatabase)
async def cached_term_counts(db: PostgresDatabase, terms: Collection[str]) -> list[tuple[str, int, int]]:
    rows = await db.fetchall("SELECT term, doc, archive_papers FROM summary_term_counts WHERE term = ANY($1::text[])"
                             ' ORDER BY term COLLATE "C"', (sorted(terms),))
    return [(str(r["term"]), int(r["doc"]), int(r["archive_papers"])) for r in rows]


@summary_stats.live_term_counts.register(PostgresDatabase)
async def live_term_counts(db: PostgresDatabase, terms: Sequence[str],
                           words: Mapping[str, Collection[str]] | None = None) -> dict[str, int]:
    if not terms:
        return {}
    queries = [words_query((words or {}).get(t) or [t]) for t in terms]
    # One count per term through the GIN index (a lateral subquery each, one round trip). A query
    # of stop words only matches nothing; to_tsquery says so in a notice, which is not an error.
    rows = await db.fetchall(
        "SELECT t.term, n.doc FROM unnest($1::text[], $2::text[]) AS t(term, query), LATERAL ("
        " SELECT COUNT(*) AS doc FROM papers WHERE search @@ to_tsquery('english', t.query)) AS n WHERE n.doc > 0",
        (list(terms), queries))
    return {str(r["term"]): int(r["doc"]) for r in rows}


@summary_stats.live_phrase_counts.register(PostgresDatabase)
async def live_phrase_counts(db: PostgresDatabase, phrases: Sequence[Sequence[Collection[str]]]) -> list[int]:
    if not phrases:
        return []
    # Each position any of its words, the positions joined by <->: a phrase query through the GIN
    # index, rechecked against each candidate's positions.
    queries = [" <-> ".join(f"({words_query(position)})" for position in phrase) for phrase in phrases]
    rows = await db.fetchall(
        "SELECT t.i, n.doc FROM unnest($1::text[]) WITH ORDINALITY AS t(query, i), LATERAL ("
        " SELECT COUNT(*) AS doc FROM papers WHERE search @@ to_tsquery('english', t.query)) AS n ORDER BY t.i",
        (queries,))
    return [int(r["doc"]) for r in rows]


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


@summary_stats.evict_phrase_counts.register(PostgresDatabase)
async def evict_phrase_counts(db: PostgresDatabase, *, counted_before: dt.datetime, keep: Collection[str] = ()) -> int:
    return await db.execute(
        "DELETE FROM summary_term_counts WHERE strpos(term, ' ') > 0 AND counted_at < $1"
        " AND NOT (term = ANY($2::text[]))", (counted_before, sorted(keep)))
