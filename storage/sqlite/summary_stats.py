"""storage/summary_stats.py on SQLite: counts from FTS5's vocabulary of papers_fts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence

from storage import summary_stats
from storage.db import iso, now_utc
from storage.sqlite.db import SqliteDatabase


@summary_stats.cached_term_counts.register(SqliteDatabase)
async def cached_term_counts(db: SqliteDatabase, terms: Collection[str]) -> list[tuple[str, int, int]]:
    rows = await db.fetchall(
        "SELECT c.term, c.doc, c.archive_papers FROM json_each(?) AS j"
        " JOIN summary_term_counts AS c ON c.term = j.value ORDER BY c.term", (json.dumps(sorted(terms)),))
    return [(str(r["term"]), int(r["doc"]), int(r["archive_papers"])) for r in rows]


@summary_stats.live_term_counts.register(SqliteDatabase)
async def live_term_counts(db: SqliteDatabase, terms: Sequence[str],
                           words: Mapping[str, Collection[str]] | None = None) -> dict[str, int]:
    # papers_fts holds these very stems: the words they came from are not needed.
    rows = await db.fetchall(
        "SELECT term, doc FROM papers_vocab WHERE term IN (SELECT value FROM json_each(?))", (json.dumps(list(terms)),))
    return {str(r["term"]): int(r["doc"]) for r in rows}


@summary_stats.live_phrase_counts.register(SqliteDatabase)
async def live_phrase_counts(db: SqliteDatabase, phrases: Sequence[Sequence[Collection[str]]]) -> list[int]:
    # One FTS5 phrase query each, in one statement (json_each keeps the order). Any word of a
    # stem is that stem to the index, so the first (sorted) stands for the position; each word
    # is quoted, so no text is syntax.
    if not phrases:
        return []
    texts = ['"' + " ".join(sorted(position)[0].replace('"', '""') for position in phrase) + '"'
             for phrase in phrases]
    rows = await db.fetchall(
        "SELECT (SELECT COUNT(*) FROM papers_fts WHERE papers_fts MATCH j.value) AS doc FROM json_each(?) AS j"
        " ORDER BY j.key", (json.dumps(texts),))
    return [int(r["doc"]) for r in rows]


@summary_stats.save_term_counts.register(SqliteDatabase)
async def save_term_counts(db: SqliteDatabase, counts: Sequence[tuple[str, int, int]], *,
                           now: dt.datetime | None = None) -> None:
    at = iso(now or now_utc())
    await db.executemany(
        "INSERT INTO summary_term_counts (term, doc, archive_papers, counted_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (term) DO UPDATE SET doc = excluded.doc, archive_papers = excluded.archive_papers,"
        " counted_at = excluded.counted_at", [(t, d, n, at) for t, d, n in counts])


@summary_stats.archive_size.register(SqliteDatabase)
async def archive_size(db: SqliteDatabase) -> int:
    row = await db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM papers")
    return int(row["n"]) if row else 0


@summary_stats.evict_phrase_counts.register(SqliteDatabase)
async def evict_phrase_counts(db: SqliteDatabase, *, counted_before: dt.datetime, keep: Collection[str] = ()) -> int:
    # counted_at is stored by `iso`, whose text sorts as time does.
    return await db.execute(
        "DELETE FROM summary_term_counts WHERE instr(term, ' ') > 0 AND counted_at < ?"
        " AND term NOT IN (SELECT value FROM json_each(?))", (iso(counted_before), json.dumps(sorted(keep))))
