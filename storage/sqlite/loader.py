"""storage/loader.py's steps on SQLite.

Every aiosqlite call is a hop to the connection's thread, so each step is a handful of statements,
not one per paper. Papers are written by ONE statement per batch (rows passed as a JSON array): an
INSERT on `papers` fires the FTS5 trigger, so SQLite wraps each statement in a savepoint, and FTS5
flushes its pending terms to a new index segment at every savepoint; one statement per paper meant
one segment per paper and merging them dominated a bulk load. For the same reason the steps run
their statements on the transaction's connection directly, never through `db.execute` (a savepoint).

A run indexes its new papers for search with one INSERT ... SELECT before its COMMIT rather than
by the per-row trigger (migration 0012). Inside `Loader.bulk()` runs also leave the title_key index
alone and it is rebuilt once at the end: its keys are random, so each chunk rewrote about one index
page per paper, while building it once afterwards is a single sorted pass.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import aiosqlite

from storage import library, loader, votes
from storage.db import iso
from storage.loader import Listing, StoredDigest, authority, compact_json
from storage.records import PaperRecord, ParsedDigest
from storage.sqlite.db import SqliteDatabase

# Statement parameters: :text_wins and :extras_win (storage.loader.authority).
_DEFERS = "(NOT :text_wins AND {t}categories <> '[]')"
_LINKS = "CASE WHEN :extras_win THEN json_patch({t}links, {new}links) ELSE json_patch({new}links, {t}links) END"


def _text_rules(t: str, new: str) -> dict[str, str]:
    """The new value of each text column: `t` qualifies the stored row's columns, `new` the record's."""
    defers = _DEFERS.format(t=t)
    rules = {"title": f"CASE WHEN {defers} THEN {t}title ELSE {new}title END"}
    for col, empty in (("abstract", "''"), ("authors", "'[]'")):
        rules[col] = f"CASE WHEN {new}{col} <> {empty} AND NOT {defers} THEN {new}{col} ELSE {t}{col} END"
    rules["links"] = _LINKS.format(t=t, new=new)
    return rules


def _changes(rules: dict[str, str], t: str) -> str:
    return "\n   OR ".join(f"{t}{col} IS NOT ({rule})" for col, rule in rules.items())


_BY_ID = _text_rules("papers.", "excluded.")
# The rows come as one JSON array of `payload_row` arrays; `->` keeps nested lists and objects as
# (compact) JSON text, exactly what `_params` writes for the id-less path.
_UPSERT_BY_ID = f"""
INSERT INTO papers (arxiv_id, title_key, title, abstract, authors, links, categories, keywords,
                    ai_summary, published, first_listed, created_at, updated_at)
SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value -> 4, r.value -> 5, r.value -> 6,
       r.value -> 7, r.value ->> 8, r.value ->> 9, r.value ->> 10, :now, :now
FROM json_each(:rows) AS r WHERE true
ON CONFLICT (arxiv_id) DO UPDATE SET
    title = {_BY_ID["title"]},
    title_key = CASE WHEN {_DEFERS.format(t="papers.")} THEN papers.title_key ELSE excluded.title_key END,
    abstract = {_BY_ID["abstract"]},
    authors = {_BY_ID["authors"]},
    links = {_BY_ID["links"]},
    categories = CASE WHEN excluded.categories <> '[]' THEN excluded.categories ELSE papers.categories END,
    keywords = CASE WHEN excluded.keywords <> '[]' THEN excluded.keywords ELSE papers.keywords END,
    ai_summary = COALESCE(excluded.ai_summary, papers.ai_summary),
    published = COALESCE(papers.published, excluded.published),
    first_listed = MIN(papers.first_listed, excluded.first_listed),
    updated_at = excluded.updated_at
WHERE {_changes(_BY_ID, "papers.")}
   OR (excluded.categories <> '[]' AND papers.categories IS NOT excluded.categories)
   OR (excluded.keywords <> '[]' AND papers.keywords IS NOT excluded.keywords)
   OR (excluded.ai_summary IS NOT NULL AND papers.ai_summary IS NOT excluded.ai_summary)
   OR (papers.published IS NULL AND excluded.published IS NOT NULL)
   OR excluded.first_listed < papers.first_listed
RETURNING id, arxiv_id
"""  # noqa: S608 - built from the constants above; every value is a bound parameter

_BY_ROWID = _text_rules("", ":")
# An id-less record lands on the paper with its title: the one with an id if there is one.
_UPDATE_BY_ROWID = f"""
UPDATE papers SET
    title = {_BY_ROWID["title"]},
    abstract = {_BY_ROWID["abstract"]},
    authors = {_BY_ROWID["authors"]},
    links = {_BY_ROWID["links"]},
    first_listed = MIN(first_listed, :listed),
    updated_at = :now
WHERE id = :rowid
  AND ({_changes(_BY_ROWID, "")}
       OR :listed < first_listed)
"""  # noqa: S608 - built from the constants above; every value is a bound parameter


def _authority(fmt: str) -> dict[str, bool]:
    """The statement parameters that say which fields a record of format `fmt` may set (see `_DEFERS`)."""
    text_wins, extras_win = authority(fmt)
    return {"text_wins": text_wins, "extras_win": extras_win}


# The same definition as migration 0001's; `Loader.bulk` drops it and this puts it back.
_TITLE_INDEX = "CREATE INDEX IF NOT EXISTS papers_title_key ON papers(title_key)"

_ADOPT_ID = """
UPDATE papers SET arxiv_id = :arxiv_id, updated_at = :now
WHERE arxiv_id IS NULL AND title_key = :title_key
  AND NOT EXISTS (SELECT 1 FROM papers AS p WHERE p.arxiv_id = :arxiv_id)
"""

# The tables a load writes and the planner's choices depend on; how many rows of each index ANALYZE reads.
_LOADED_TABLES = ("papers", "digests", "digest_entries")
_ANALYSIS_ROWS = 1000


def _params(record: PaperRecord, key: str, listed: str, now: str) -> dict[str, Any]:
    return {
        "arxiv_id": record.arxiv_id,
        "title_key": key,
        "title": record.title,
        "abstract": record.abstract,
        "authors": compact_json(record.authors),
        "links": compact_json(record.links),
        "categories": compact_json(record.categories),
        "keywords": compact_json(record.keywords),
        "ai_summary": record.ai_summary,
        "published": record.published.isoformat() if record.published else None,
        "listed": listed,
        "now": now,
    }


async def _scalar(conn: aiosqlite.Connection, sql: str, params: Any = ()) -> Any:
    async with conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


@loader.lock_for_load.register(SqliteDatabase)
async def lock_for_load(db: SqliteDatabase) -> None:
    pass  # BEGIN IMMEDIATE took the database's write lock


@loader.stored_digest.register(SqliteDatabase)
async def stored_digest(db: SqliteDatabase, source: str, date: dt.date) -> StoredDigest | None:
    async with db.conn.execute(
        "SELECT id, content_hash, paper_count FROM digests WHERE source = ? AND date = ?", (source, date.isoformat())
    ) as cursor:
        row = await cursor.fetchone()
    return StoredDigest(row["id"], row["content_hash"], row["paper_count"]) if row else None


@loader.open_digest.register(SqliteDatabase)
async def open_digest(db: SqliteDatabase, digest: ParsedDigest, fingerprint: str | None, now: dt.datetime) -> int:
    stamp = iso(now)
    async with db.conn.execute(
        "INSERT INTO digests (source, date, format, content_hash, fetched_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (source, date) DO UPDATE SET format = excluded.format,"
        " content_hash = COALESCE(excluded.content_hash, digests.content_hash), updated_at = excluded.updated_at"
        " RETURNING id",
        (digest.source, digest.date.isoformat(), digest.format, fingerprint, stamp, stamp),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


@loader.open_digests.register(SqliteDatabase)
async def open_digests(db: SqliteDatabase, listings: list[Listing], now: dt.datetime) -> list[int]:
    rows = [[d.source, d.date.isoformat(), d.format] for d in listings]
    found = await db.conn.execute_fetchall(
        "INSERT INTO digests (source, date, format, content_hash, fetched_at, updated_at)"
        " SELECT d.value ->> 0, d.value ->> 1, d.value ->> 2, NULL, :now, :now FROM json_each(:rows) AS d WHERE true"
        " ON CONFLICT (source, date) DO UPDATE SET format = excluded.format, updated_at = excluded.updated_at"
        " RETURNING id, source, date",
        {"rows": json.dumps(rows), "now": iso(now)},
    )
    id_of = {(source, day): int(digest_id) for digest_id, source, day in found}
    return [id_of[(source, day)] for source, day, _ in rows]


@loader.max_paper_id.register(SqliteDatabase)
async def max_paper_id(db: SqliteDatabase) -> int:
    return int(await _scalar(db.conn, "SELECT COALESCE(MAX(id), 0) FROM papers"))


@loader.ensure_title_index.register(SqliteDatabase)
async def ensure_title_index(db: SqliteDatabase) -> None:
    await db.conn.execute(_TITLE_INDEX)


@loader.set_title_index_aside.register(SqliteDatabase)
async def set_title_index_aside(db: SqliteDatabase) -> bool:
    await db.conn.execute("DROP INDEX IF EXISTS papers_title_key")
    return True


@loader.adopt_ids.register(SqliteDatabase)
async def adopt_ids(db: SqliteDatabase, pairs: list[tuple[str, str]], now: dt.datetime) -> int:
    stamp = iso(now)
    cursor = await db.conn.executemany(
        _ADOPT_ID, [{"arxiv_id": arxiv_id, "title_key": key, "now": stamp} for arxiv_id, key in pairs])
    return max(cursor.rowcount, 0)


# The ids of a run that are stored already (unchanged papers: every one of them when an interrupted
# load runs again). Planned well only with current statistics (`Loader.refresh_statistics`).
STORED_IDS = "SELECT p.arxiv_id, p.id FROM json_each(?) AS k JOIN papers AS p ON p.arxiv_id = k.value"


@loader.stages_ahead.register(SqliteDatabase)
async def stages_ahead(db: SqliteDatabase) -> bool:
    return False  # a load's transaction holds the write lock from its BEGIN IMMEDIATE


@loader.stage_papers.register(SqliteDatabase)
async def stage_papers(db: SqliteDatabase, payload: str) -> None:
    return None  # one statement reads the payload itself (json_each)


@loader.settle_search_index.register(SqliteDatabase)
async def settle_search_index(db: SqliteDatabase) -> None:
    pass  # a load's papers are indexed in its transaction (`index_new_papers`)


@loader.upsert_by_id.register(SqliteDatabase)
async def upsert_by_id(db: SqliteDatabase, payload: str, fmt: str, now: dt.datetime,
                       stage: str | None = None) -> list[tuple[int, str]]:
    changed = await db.conn.execute_fetchall(_UPSERT_BY_ID, {"rows": payload, "now": iso(now), **_authority(fmt)})
    return [(int(pid), str(arxiv_id)) for pid, arxiv_id in changed]


@loader.stored_ids.register(SqliteDatabase)
async def stored_ids(db: SqliteDatabase, arxiv_ids: list[str]) -> dict[str, int]:
    found = await db.conn.execute_fetchall(STORED_IDS, (json.dumps(arxiv_ids),))
    return {str(arxiv_id): int(pid) for arxiv_id, pid in found}


@loader.upsert_by_title.register(SqliteDatabase)
async def upsert_by_title(db: SqliteDatabase, record: PaperRecord, key: str, listed: dt.date, fmt: str,
                          now: dt.datetime) -> tuple[int, bool]:
    params = {**_params(record, key, listed.isoformat(), iso(now)), **_authority(fmt)}
    conn = db.conn
    async with conn.execute(
        "SELECT id FROM papers WHERE title_key = ? ORDER BY arxiv_id IS NULL, id LIMIT 1", (params["title_key"],)
    ) as cursor:
        row = await cursor.fetchone()
    if row is not None:
        async with conn.execute(_UPDATE_BY_ROWID, {**params, "rowid": row[0]}) as cursor:
            return int(row[0]), cursor.rowcount > 0
    async with conn.execute(
        "INSERT INTO papers (arxiv_id, title_key, title, abstract, authors, links, categories, keywords,"
        " ai_summary, published, first_listed, created_at, updated_at)"
        " VALUES (NULL, :title_key, :title, :abstract, :authors, :links, :categories, :keywords,"
        " :ai_summary, :published, :listed, :now, :now) RETURNING id",
        params,
    ) as cursor:
        inserted = await cursor.fetchone()
    assert inserted is not None
    return int(inserted[0]), True


@loader.merge_title_twins.register(SqliteDatabase)
async def merge_title_twins(db: SqliteDatabase, keys: list[str]) -> int:
    conn = db.conn
    async with conn.execute(
        "SELECT o.id, MIN(p.id) FROM json_each(?) AS k"
        " JOIN papers AS o ON o.title_key = k.value AND o.arxiv_id IS NULL"
        " JOIN papers AS p ON p.title_key = o.title_key AND p.arxiv_id IS NOT NULL"
        " GROUP BY o.id",
        (json.dumps(keys),),
    ) as cursor:
        pairs = list(await cursor.fetchall())
    for orphan, keeper in pairs:
        await conn.execute(
            "INSERT OR IGNORE INTO digest_entries (digest_id, paper_id, position, upvotes, comments)"
            " SELECT digest_id, ?, position, upvotes, comments FROM digest_entries WHERE paper_id = ?",
            (keeper, orphan),
        )
        await conn.execute(
            "UPDATE papers SET first_listed = MIN(first_listed, (SELECT first_listed FROM papers WHERE id = ?))"
            " WHERE id = ?", (orphan, keeper))
        # Members' votes and saves follow the paper into its twin rather than vanish with it.
        await votes.move_votes(db, orphan, keeper)
        await library.move_saves(db, orphan, keeper)
        await conn.execute("DELETE FROM papers WHERE id = ?", (orphan,))
    return len(pairs)


@loader.title_orphans.register(SqliteDatabase)
async def title_orphans(db: SqliteDatabase, keys: str) -> bool:
    orphans = await db.conn.execute_fetchall(
        # The partial index of id-less titles: small, and there even while `bulk()` drops the full one.
        "SELECT 1 FROM json_each(?) AS k JOIN papers AS o INDEXED BY papers_title_only"
        " ON o.title_key = k.value AND o.arxiv_id IS NULL LIMIT 1",
        (keys,))
    return bool(orphans)


@loader.defer_search_index.register(SqliteDatabase)
async def defer_search_index(db: SqliteDatabase) -> None:
    # New papers skip the FTS trigger and are indexed together by `index_new_papers` (migration
    # 0012): the flag row and the index entries are in this transaction, which a failure rolls back.
    await db.conn.execute("INSERT INTO papers_fts_deferred (one) VALUES (1)")


@loader.index_new_papers.register(SqliteDatabase)
async def index_new_papers(db: SqliteDatabase, max_before: int) -> None:
    # Changed rows were re-indexed by the update trigger.
    await db.conn.execute("INSERT INTO papers_fts (rowid, title, abstract) SELECT id, title, abstract FROM papers"
                          " WHERE id > ?", (max_before,))
    await db.conn.execute("DELETE FROM papers_fts_deferred")


# One statement writes a batch's entries and returns those it inserted or changed (a same-day
# refresh that only moved upvotes changed something). On a growing day (:grows) figures
# never go down and, when the capture lacks some of the day's papers (:keep), positions stay.
_ENTRY_VALUE = """CASE WHEN excluded.{col} IS NULL THEN digest_entries.{col}
        WHEN :grows AND digest_entries.{col} > excluded.{col} THEN digest_entries.{col}
        ELSE excluded.{col} END"""
_UPSERT_ENTRIES = f"""
INSERT INTO digest_entries (digest_id, paper_id, position, upvotes, comments)
SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4
FROM json_each(:rows) AS e WHERE true
ON CONFLICT (digest_id, paper_id) DO UPDATE SET
    position = CASE WHEN :keep THEN digest_entries.position ELSE excluded.position END,
    upvotes = {_ENTRY_VALUE.format(col="upvotes")},
    comments = {_ENTRY_VALUE.format(col="comments")}
WHERE digest_entries.position IS NOT (CASE WHEN :keep THEN digest_entries.position ELSE excluded.position END)
   OR digest_entries.upvotes IS NOT ({_ENTRY_VALUE.format(col="upvotes")})
   OR digest_entries.comments IS NOT ({_ENTRY_VALUE.format(col="comments")})
RETURNING digest_id, paper_id
"""  # noqa: S608 - built from the constants above; every value is a bound parameter


@loader.drop_or_keep.register(SqliteDatabase)
async def drop_or_keep(db: SqliteDatabase, digest_id: int, listed: list[int], grows: bool) -> tuple[int, int, int]:
    ids = json.dumps(listed)
    if not grows:
        cursor = await db.conn.execute(
            "DELETE FROM digest_entries WHERE digest_id = ? AND paper_id NOT IN (SELECT value FROM json_each(?))",
            (digest_id, ids))
        return max(cursor.rowcount, 0), 0, 0
    async with db.conn.execute(
        "SELECT COALESCE(SUM(paper_id NOT IN (SELECT value FROM json_each(?))), 0),"
        " COALESCE(MAX(position) + 1, 0) FROM digest_entries WHERE digest_id = ?",
        (ids, digest_id)) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return (0, int(row[0]), int(row[1])) if row[0] else (0, 0, 0)


@loader.upsert_entries.register(SqliteDatabase)
async def upsert_entries(db: SqliteDatabase, rows: list[list[Any]], grows: bool, keep: bool) -> set[tuple[int, int]]:
    found = await db.conn.execute_fetchall(_UPSERT_ENTRIES, {"rows": compact_json(rows), "grows": grows, "keep": keep})
    return {(int(digest_id), int(pid)) for digest_id, pid in found}


@loader.count_entries.register(SqliteDatabase)
async def count_entries(db: SqliteDatabase, digest_ids: list[int]) -> None:
    await db.conn.execute(
        "UPDATE digests SET paper_count = (SELECT COUNT(*) FROM digest_entries AS e WHERE e.digest_id = digests.id)"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(digest_ids),),
    )


@loader.refresh_statistics.register(SqliteDatabase)
async def refresh_statistics(db: SqliteDatabase) -> None:
    # sqlite_stat1, sampled (analysis_limit): about the same cost at any archive size.
    async with db.transaction() as conn:
        await conn.execute(f"PRAGMA analysis_limit = {_ANALYSIS_ROWS}")
        for table in _LOADED_TABLES:
            await conn.execute(f"ANALYZE {table}")
